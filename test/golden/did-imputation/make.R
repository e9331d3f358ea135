# Golden values for the `did-imputation` step (steps/did-imputation.ts, stats/did-imputation.ts).
# Run from the project root, with didimputation (kylebutts/didimputation) and fixest (lrberge/fixest)
# built from their GitHub sources on the library path:
#   Rscript test/golden/did-imputation/make.R  → test/golden/did-imputation/golden.json
#
# Reference 1: didimputation::did_imputation(data, yname, gname, tname, idname, first_stage,
#   horizon = TRUE, pretrends = -k:-1) for horizons and pre-periods, and the same call with
#   horizon = NULL (its overall ATT, term "treat") for the ATT.
# Reference 2 (independent, base R + fixest for the pre-trend regression only): the first stage is
#   lm() on the untreated rows with unit and period factors (+ controls); τ̂ = y − prediction on
#   treated rows; BJS's conservative variance written out from the paper / didimputation's formula
#   with a dense model matrix Z = model.matrix(~ factor(unit) + factor(time) + controls):
#   v = w on treated rows, v = −Z0 (Z0'Z0)⁻¹ Z1'w on untreated rows, ε̃ = τ̂ − τ̄(cohort, horizon)
#   (v²-weighted) on treated rows and the first-stage residual on untreated ones,
#   Var = Σ_clusters (Σ v ε̃)²; pre-periods from fixest::feols(y ~ i(rel, keep = -k:-1) + controls |
#   unit + time, untreated rows, cluster = unit), as didimputation computes them. The reference also
#   gives the covariance blocks horizons × horizons and pre × pre of the step's vcov.matrix.
# Where didimputation runs, both references must agree (points 1e-8, SEs 1e-6; stopifnot) and its
# values are written. On the demo panel didimputation stops in Matrix::solve ("cs_lu(A) failed:
# near-singular A") although Z0'Z0 is positive definite (smallest eigenvalue 0.9 there; Matrix 1.5.3,
# fixest 0.12.x, a version below the 0.13.2 didimputation asks for): those cases are written from
# reference 2, and `reference` in the golden file says so.
source("test/golden/staggered-data.R")
suppressPackageStartupMessages({ library(fixest); library(didimputation) })
setFixest_nthreads(1)

ref_imputation <- function(d, y, unit, time, adopt, controls, pre) {
  tr <- d[[adopt]] > 0 & d[[time]] >= d[[adopt]]
  rhs <- c(sprintf("factor(%s)", c(unit, time)), controls)
  u <- d[!tr, ]
  f0 <- lm(as.formula(paste(y, "~", paste(rhs, collapse = " + "))), data = u)
  ok <- !tr | (d[[unit]] %in% u[[unit]] & d[[time]] %in% u[[time]])
  d <- d[ok, ]; tr <- tr[ok]
  adj <- d[[y]] - predict(f0, newdata = d)
  Z <- model.matrix(as.formula(paste("~", paste(rhs, collapse = " + "))), data = d)
  Z <- Z[, !is.na(coef(f0))[colnames(Z)], drop = FALSE]
  Z0 <- Z[!tr, , drop = FALSE]; Z1 <- Z[tr, , drop = FALSE]
  A <- crossprod(Z0)
  h <- d[[time]][tr] - d[[adopt]][tr]
  grp <- paste(d[[adopt]][tr], h)
  target <- function(w1) {
    v <- numeric(nrow(d))
    v[!tr] <- -Z0 %*% solve(A, crossprod(Z1, w1))
    v[tr] <- w1
    eps <- adj
    v1 <- v[tr]
    tb <- tapply(v1^2 * adj[tr], grp, sum) / tapply(v1^2, grp, sum)
    tb[is.na(tb)] <- 0
    eps[tr] <- adj[tr] - tb[grp]
    psi <- tapply(v * eps, d[[unit]], sum)
    list(estimate = sum(w1 * adj[tr]), se = sqrt(sum(psi^2)), psi = psi)
  }
  H <- sort(unique(h))
  tg <- lapply(H, function(e) target(as.numeric(h == e) / sum(h == e)))
  post <- cbind(sapply(tg, `[[`, "estimate"), sapply(tg, `[[`, "se"))
  Psi <- sapply(tg, `[[`, "psi")
  vcov_post <- crossprod(Psi)          # covariance of the horizons: Σ_clusters ψ ψ'
  att <- unlist(target(rep(1 / sum(tr), sum(tr)))[c("estimate", "se")])
  res <- data.frame(term = H, estimate = post[, 1], std.error = post[, 2])
  vcov_pre <- NULL
  if (length(pre)) {
    u$rel <- ifelse(u[[adopt]] > 0, u[[time]] - u[[adopt]], -1000)
    fp <- feols(as.formula(sprintf("%s ~ %s | %s + %s", y, paste(c(sprintf("i(rel, keep = c(%s))", paste(pre, collapse = ", ")), controls), collapse = " + "), unit, time)),
                data = u, cluster = as.formula(paste0("~", unit)))
    cn <- paste0("rel::", pre)
    res <- rbind(data.frame(term = pre, estimate = unname(coef(fp)[cn]), std.error = unname(se(fp)[cn])), res)
    vcov_pre <- unname(vcov(fp)[cn, cn])
  }
  list(es = res, att = c(att, n = sum(tr)), lm_att = mean(adj[tr]), vcov_post = unname(vcov_post), vcov_pre = vcov_pre)
}

run_case <- function(name, dataset, d, y, unit, time, adopt, controls = character(), pretrends = 3, params = list()) {
  d <- d[complete.cases(d[, c(y, unit, time, controls)]), ]
  pre <- if (pretrends > 0) -pretrends:-1 else integer()
  ref <- ref_imputation(d, y, unit, time, adopt, controls, pre)
  fs <- as.formula(sprintf("~ %s | %s + %s", if (length(controls)) paste(controls, collapse = " + ") else "0", unit, time))
  di <- function(...) did_imputation(d, yname = y, gname = adopt, tname = time, idname = unit, first_stage = fs, ...)
  pk <- tryCatch(list(es = di(horizon = TRUE, pretrends = if (length(pre)) pre else NULL), att = di()), error = function(e) conditionMessage(e))
  if (is.list(pk)) {
    es <- data.frame(term = as.numeric(pk$es$term), estimate = pk$es$estimate, std.error = pk$es$std.error)
    es <- es[!is.nan(es$estimate), ]   # horizon = TRUE lists horizons whose treated rows cannot be imputed (NaN); the step omits them
    stopifnot(nrow(es) == nrow(ref$es), all(es$term == ref$es$term),
              max(abs(es$estimate - ref$es$estimate)) < 1e-8, max(abs(es$std.error / ref$es$std.error - 1)) < 1e-6,
              abs(pk$att$estimate[1] - ref$att[["estimate"]]) < 1e-8, abs(pk$att$std.error[1] / ref$att[["se"]] - 1) < 1e-6)
    att <- list(estimate = pk$att$estimate[1], se = pk$att$std.error[1])
    reference <- "didimputation (independent R reference agrees: points 1e-8, SEs 1e-6)"
  } else {
    es <- ref$es
    att <- list(estimate = ref$att[["estimate"]], se = ref$att[["se"]])
    reference <- paste0("independent R reference (didimputation failed here: ", pk, ")")
  }
  cat(name, ":", reference, "\n")
  list(
    name = name, dataset = dataset, reference = reference,
    params = c(list(y = y, unit = unit, time = time, adopt = adopt, controls = controls, pretrends = pretrends), params),
    n = nrow(d), n_treated_imputed = unname(ref$att[["n"]]),
    periods = lapply(seq_len(nrow(es)), function(j) list(period = es$term[j], estimate = es$estimate[j], se = es$std.error[j])),
    att = att,
    # covariance blocks from the independent reference (didimputation reports variances only):
    # horizons × horizons (Σ_clusters ψ ψ') and pre-periods × pre-periods (fixest CR1 vcov)
    vcov_post = ref$vcov_post, vcov_pre = ref$vcov_pre
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
# R time on the demo panel with controls: didimputation fails there, so the package is timed on mpdta
# (2,500 rows, no controls) and the independent reference on the demo case
r_seconds_pkg_mpdta <- time_it(function() { did_imputation(mp, "lemp", "first.treat", "year", "countyreal", horizon = TRUE, pretrends = -3:-1); did_imputation(mp, "lemp", "first.treat", "year", "countyreal") })
dc <- demo[complete.cases(demo[, c("so2", ctrl)]), ]
r_seconds_ref_demo <- time_it(function() ref_imputation(dc, "so2", "city_code", "year", "adopt", ctrl, -5:-1), reps = 3)
write_golden(list(
  source = sprintf("didimputation %s (built from github kylebutts/didimputation), fixest %s, Matrix %s, R %s; see `reference` per case", packageVersion("didimputation"), packageVersion("fixest"), packageVersion("Matrix"), getRversion()),
  r_seconds_pkg_mpdta = r_seconds_pkg_mpdta,
  r_seconds_ref_demo_controls = r_seconds_ref_demo,
  cases = cases
), "test/golden/did-imputation/golden.json")
