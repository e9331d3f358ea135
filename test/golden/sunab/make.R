# Golden values for the `sunab` step (steps/sunab.ts, stats/sunab.ts).
# Run from the project root, with fixest built from its GitHub sources (lrberge/fixest, and its
# dependencies dreamerr and stringmagic) on the library path:
#   Rscript test/golden/sunab/make.R  → test/golden/sunab/golden.json
# Reference: fixest::feols(y ~ sunab(adopt, time) [+ controls] | unit + time, cluster = ~cluster)
# (ref.p = -1; never treated coded 0, a value that is no period, so sunab makes it the reference);
# periods from aggregate(fit, "period"), the ATT from aggregate(fit, "att") (= summary(agg = "ATT")).
# The covariance of the aggregated periods, W V W' with W the cohort shares of fixest's aggregate()
# (colSums of the model-matrix dummies), is computed here from vcov(fit); its diagonal is checked
# against aggregate()'s standard errors before it is written.
# "no never-treated" case: mpdta without its never-treated counties and before 2007: cohort 2007 is
# then never treated within the sample and fixest uses it as the control (what the step does by
# itself when no unit is never treated).
source("test/golden/staggered-data.R")
suppressPackageStartupMessages(library(fixest))
setFixest_nthreads(1)

run_case <- function(name, dataset, d, y, unit, time, adopt, controls = character(), cluster = unit, params = list(), ref_p = -1) {
  rhs <- paste(c(sprintf("sunab(%s, %s, ref.p = c(%s))", adopt, time, paste(ref_p, collapse = ", ")), controls), collapse = " + ")
  fml <- as.formula(sprintf("%s ~ %s | %s + %s", y, rhs, unit, time))
  fit <- feols(fml, data = d, cluster = as.formula(paste0("~", cluster)))
  agg <- aggregate(fit, agg = "period")
  att <- aggregate(fit, agg = "att")
  s <- summary(fit, agg = FALSE)          # the cohort × period coefficients (coef(fit) is aggregated)
  b <- s$coefficients; Vr <- s$cov.scaled; sr <- s$se
  cn <- names(b)
  cells <- grep("::-?[0-9]+:cohort::", cn, value = TRUE)
  per <- as.numeric(sub(".*::(-?[0-9]+):cohort::.*", "\\1", cells))
  coh <- as.numeric(sub(".*:cohort::", "", cells))
  mm <- model.matrix(fit)
  cnt <- colSums(sign(mm[, cells, drop = FALSE]))
  P <- sort(unique(per))
  W <- t(sapply(P, function(p) { w <- ifelse(per == p, cnt, 0); w / sum(w) }))
  V <- W %*% Vr[cells, cells] %*% t(W)
  stopifnot(max(abs(sqrt(diag(V)) - agg[, "Std. Error"]) / agg[, "Std. Error"]) < 1e-10)
  ctl <- setdiff(cn, cells)
  list(
    name = name, dataset = dataset,
    params = c(list(y = y, unit = unit, time = time, adopt = adopt, controls = controls, cluster = cluster), params),
    n = nobs(fit), clusters = fit$fixef_sizes[[unit]],
    periods = lapply(seq_along(P), function(j) list(period = P[j], estimate = unname(agg[j, 1]), se = unname(agg[j, 2]))),
    vcov_matrix = unname(V),
    att = list(estimate = unname(att[1, 1]), se = unname(att[1, 2])),
    cells = lapply(seq_along(cells), function(j) list(cohort = coh[j], period = per[j], estimate = unname(b[cells[j]]), se = unname(sr[cells[j]]), n = unname(cnt[j]))),
    controls = lapply(ctl, function(v) list(term = v, estimate = unname(b[v]), se = unname(sr[v])))
  )
}

mp <- load_mpdta()
castle <- load_castle()
demo <- load_demo()
ctrl <- c("pgdp", "indus", "urb", "fin", "fis")
cases <- list(
  run_case("mpdta", "mpdta", mp, "lemp", "countyreal", "year", "first.treat"),
  run_case("mpdta, no never-treated (last cohort 2007 as control)", "mpdta", mp[mp$first.treat > 0 & mp$year < 2007, ], "lemp", "countyreal", "year", "first.treat",
           params = list(where = list(first.treat = list(gt = 0)))),
  run_case("castle", "castle", castle, "l_homicide", "sid", "year", "effyear"),
  run_case("castle, two reference periods (-1, -5)", "castle", castle, "l_homicide", "sid", "year", "effyear", ref_p = c(-1, -5), params = list(ref_period = c(-1, -5))),
  run_case("demo", "demo", demo, "so2", "city_code", "year", "adopt"),
  run_case("demo with controls", "demo", demo, "so2", "city_code", "year", "adopt", controls = ctrl)
)
# R time of the demo case with controls (what the benchmark compares with)
r_seconds <- time_it(function() { f <- feols(so2 ~ sunab(adopt, year) + pgdp + indus + urb + fin + fis | city_code + year, demo, cluster = ~city_code); aggregate(f, "period"); aggregate(f, "att") })
write_golden(list(
  source = sprintf("fixest %s (built from github lrberge/fixest), R %s", packageVersion("fixest"), getRversion()),
  r_seconds_demo_controls = r_seconds,
  cases = cases
), "test/golden/sunab/golden.json")
