# Golden values for the `bacon` step (steps/bacon.ts, stats/bacon.ts).
# Run from the project root, with bacondecomp (evanjflack/bacondecomp) and fixest (lrberge/fixest)
# built from their GitHub sources on the library path:
#   Rscript test/golden/bacon/make.R  → test/golden/bacon/golden.json
# Reference: bacondecomp::bacon(y ~ D, data, id_var, time_var) (its 2×2 estimates and weights; its
# types "Earlier vs Later Treated", "Later vs Earlier Treated", "Treated vs Untreated" are written as
# earlier_vs_later, later_vs_earlier, treated_vs_never; untreated = Inf as null), and the TWFE
# coefficient from lm(y ~ D + factor(unit) + factor(time)).
# The demo panel has missing so2 values, so (the decomposition needs a balanced panel) the demo case
# keeps the cities with so2 in all 18 years; the test derives the same set from the data.
source("test/golden/staggered-data.R")
suppressPackageStartupMessages({ library(fixest); library(bacondecomp) })
setFixest_nthreads(1)
type_of <- c("Earlier vs Later Treated" = "earlier_vs_later", "Later vs Earlier Treated" = "later_vs_earlier", "Treated vs Untreated" = "treated_vs_never")

run_case <- function(name, dataset, d, y, treat, unit, time, params = list()) {
  b <- bacon(as.formula(paste(y, "~", treat)), data = d, id_var = unit, time_var = time)
  twfe <- coef(lm(as.formula(sprintf("%s ~ %s + factor(%s) + factor(%s)", y, treat, unit, time)), data = d))[[treat]]
  stopifnot(abs(sum(b$weight * b$estimate) - twfe) < 1e-10)
  list(
    name = name, dataset = dataset,
    params = c(list(y = y, treat = treat, unit = unit, time = time), params),
    twfe = twfe,
    pairs = lapply(seq_len(nrow(b)), function(j) list(type = unname(type_of[b$type[j]]), treated = b$treated[j],
      control = if (is.finite(b$untreated[j])) b$untreated[j] else NULL, estimate = b$estimate[j], weight = b$weight[j]))
  )
}
mp <- load_mpdta()
castle <- load_castle()
demo <- load_demo()
full <- tapply(!is.na(demo$so2), demo$city_code, all)
demo_bal <- demo[demo$city_code %in% names(full)[full], ]
cases <- list(
  run_case("castle", "castle", castle, "l_homicide", "post", "sid", "year"),
  run_case("mpdta", "mpdta", mp, "lemp", "D", "countyreal", "year"),
  run_case("demo (cities with so2 in every year)", "demo", demo_bal, "so2", "did", "city_code", "year")
)
r_seconds <- time_it(function() bacon(so2 ~ did, data = demo_bal, id_var = "city_code", time_var = "year"))
write_golden(list(
  source = sprintf("bacondecomp %s (built from github evanjflack/bacondecomp), fixest %s, R %s", packageVersion("bacondecomp"), packageVersion("fixest"), getRversion()),
  r_seconds_demo = r_seconds, demo_units = sum(full),
  cases = cases
), "test/golden/bacon/golden.json")
