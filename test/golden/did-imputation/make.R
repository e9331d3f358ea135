# Golden values for the `did-imputation` step (steps/did-imputation.ts, stats/did-imputation.ts).
# Run from the project root, with didimputation (kylebutts/didimputation) and fixest (lrberge/fixest)
# built from their GitHub sources on the library path:
#   Rscript test/golden/did-imputation/make.R  → test/golden/did-imputation/golden.json
# Reference: didimputation::did_imputation(data, yname, gname, tname, idname, first_stage,
# horizon = TRUE, pretrends = -k:-1, cluster_var) for the horizons and pre-periods, and the same
# call with horizon = NULL (its overall ATT, term "treat") for the ATT.
# Independent check (no package): the first stage is lm() on the untreated rows with unit and year
# factors (+ controls); the imputed ATT must equal didimputation's to 1e-10 (stopifnot below).
source("test/golden/did-data.R")
suppressPackageStartupMessages({ library(fixest); library(didimputation) })
setFixest_nthreads(1)

run_case <- function(name, dataset, d, y, unit, time, adopt, controls = character(), pretrends = 3, params = list()) {
  fs <- as.formula(sprintf("~ %s | %s + %s", if (length(controls)) paste(controls, collapse = " + ") else "0", unit, time))
  d <- d[complete.cases(d[, c(y, unit, time, controls)]), ]
  es <- did_imputation(d, yname = y, gname = adopt, tname = time, idname = unit, first_stage = fs,
                       horizon = TRUE, pretrends = if (pretrends > 0) -pretrends:-1 else NULL)
  att <- did_imputation(d, yname = y, gname = adopt, tname = time, idname = unit, first_stage = fs)
  # independent first stage: lm on untreated rows
  tr <- d[[adopt]] > 0 & d[[time]] >= d[[adopt]]
  u <- d[!tr, ]
  f0 <- lm(as.formula(paste(y, "~", paste(c(sprintf("factor(%s)", c(unit, time)), controls), collapse = " + "))), data = u)
  t1 <- d[tr, ]
  ok <- t1[[unit]] %in% u[[unit]] & t1[[time]] %in% u[[time]]
  tau <- t1[[y]][ok] - predict(f0, newdata = t1[ok, ])
  stopifnot(abs(mean(tau) - att$estimate[1]) < 1e-10 * max(1, abs(mean(tau))))
  es$term <- as.numeric(es$term)
  list(
    name = name, dataset = dataset,
    params = c(list(y = y, unit = unit, time = time, adopt = adopt, controls = controls, pretrends = pretrends), params),
    n_treated_imputed = sum(ok),
    periods = lapply(seq_len(nrow(es)), function(j) list(period = es$term[j], estimate = es$estimate[j], se = es$std.error[j])),
    att = list(estimate = att$estimate[1], se = att$std.error[1]),
    lm_att = mean(tau)
  )
}

mp <- load_mpdta()
castle <- load_castle()
demo <- load_demo()
ctrl <- c("pgdp", "indus", "urb", "fin", "fis")
cases <- list(
  run_case("mpdta", "mpdta", mp, "lemp", "countyreal", "year", "first.treat", pretrends = 3),
  run_case("mpdta, no never-treated", "mpdta", mp[mp$first.treat > 0, ], "lemp", "countyreal", "year", "first.treat", pretrends = 2,
           params = list(where = list(first.treat = list(gt = 0)))),
  run_case("castle", "castle", castle, "l_homicide", "sid", "year", "effyear", pretrends = 4),
  run_case("demo", "demo", demo, "so2", "city_code", "year", "adopt", pretrends = 5),
  run_case("demo with controls", "demo", demo, "so2", "city_code", "year", "adopt", controls = ctrl, pretrends = 5)
)
dc <- demo[complete.cases(demo[, c("so2", ctrl)]), ]
r_seconds <- time_it(function() {
  did_imputation(dc, "so2", "adopt", "year", "city_code", first_stage = ~ pgdp + indus + urb + fin + fis | city_code + year, horizon = TRUE, pretrends = -5:-1)
  did_imputation(dc, "so2", "adopt", "year", "city_code", first_stage = ~ pgdp + indus + urb + fin + fis | city_code + year)
})
write_golden(list(
  source = sprintf("didimputation %s (built from github kylebutts/didimputation), fixest %s, R %s; first stage cross-checked with lm()", packageVersion("didimputation"), packageVersion("fixest"), getRversion()),
  r_seconds_demo_controls = r_seconds,
  cases = cases
), "test/golden/did-imputation/golden.json")
