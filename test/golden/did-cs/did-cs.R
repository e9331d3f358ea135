# Golden values for the did-cs step (stats/did-cs.ts, steps/did-cs.ts): R `did::att_gt` + `did::aggte`
# on mpdta (../shared/data/mpdta/mpdta.csv, the package's own example data) and on the SIMULATED demo
# panel (data/demo/city-panel.csv with the pilot roster merged as pipeline.yaml's merge-roster does:
# test/golden/pipeline/common.R, county zones ignored).
#
# Run from the project root:  Rscript test/golden/did-cs/did-cs.R   → test/golden/did-cs/did-cs.json
# Packages: did 2.5.1 built from github.com/bcallaway11/did (with DRDID and BMisc from
# github.com/pedrohcgs/DRDID and github.com/bcallaway11/BMisc; trust, dreamerr, stringmagic from GitHub;
# fastglm 0.0.5 = github.com/jaredhuling/fastglm at 8876bd0 (its HEAD does not compile against Debian's
# Rcpp 1.0.10: a List::create with more than 20 elements); the rest Debian r-cran-*). To install against
# Debian's R 4.2 libraries, the version floors in the DESCRIPTION files were lowered locally (DRDID:
# Rcpp >= 1.0.10; did: DRDID >= 1.2.0 — the GitHub DRDID snapshot is 1.2.3 —, data.table >= 1.14.0);
# the code is unchanged. The packages are NOT part of this repository.
#
# Every configuration runs att_gt(..., bstrap = FALSE, cband = FALSE) (analytic influence-function
# SEs; faster_mode = TRUE, the default) and aggte(type = simple/group/calendar/dynamic) on it. The
# pre-test p-value is recomputed unrounded (att_gt rounds Wpval to 5 digits). The dynamic covariance
# matrix is crossprod(inf.function$dynamic.inf.func.e) / n^2 (the analytic V of the event-time
# estimates). Bootstrap quantities are not compared with R (different random streams); the TS tests
# check their determinism and their closeness to the analytic SEs.
suppressPackageStartupMessages({ library(did); library(jsonlite) })
stopifnot(packageVersion("did") >= "2.1.2")

mp <- read.csv("../shared/data/mpdta/mpdta.csv")
stopifnot(nrow(mp) == 2500)
mp$state <- mp$countyreal %/% 1000   # FIPS state code: a cluster variable containing whole counties

source("test/golden/pipeline/common.R")   # rd(), attach_register(), adoption(), with_adoption()
panel <- rd("data/demo/city-panel.csv", skip = 1, na.strings = c("", "NA"))
panel <- panel[panel$year >= 2005 & panel$year <= 2022, ]
panel <- attach_register(panel)
panel <- with_adoption(panel, adoption("ignore"))
panel$adopt0 <- ifelse(is.na(panel$adopt), 0, panel$adopt)
demo <- panel[, c("city_code", "year", "so2", "pgdp", "fin", "fis", "adopt0")]

# One configuration: the data, the step params (as the TS test passes them to did-cs) and the
# corresponding att_gt call.
run <- function(id, data, dataname, p, rdata = data) {
  xf <- if (length(p$covariates)) reformulate(p$covariates) else NULL
  ctrl <- if (identical(p$control, "notyet")) "notyettreated" else "nevertreated"
  args <- list(yname = p$y, tname = p$time, idname = p$unit, gname = "G_", xformla = xf, data = rdata,
               control_group = ctrl, base_period = if (is.null(p$base)) "varying" else p$base,
               anticipation = if (is.null(p$anticipation)) 0 else p$anticipation,
               est_method = if (is.null(p$est)) "dr" else p$est, bstrap = FALSE, cband = FALSE)
  if (!is.null(p$cluster)) args$clustervars <- c(p$unit, p$cluster)
  args$data$G_ <- args$data[[p$adopt]]
  t0 <- Sys.time()
  a <- suppressWarnings(suppressMessages(do.call(att_gt, args)))
  n <- a$n
  pre <- which(a$group > a$t & !is.na(a$se))
  W <- if (is.null(a$W)) NA else as.numeric(a$W)
  agg <- function(type, ...) {
    r <- suppressWarnings(aggte(a, type = type, bstrap = FALSE, cband = FALSE, ...))
    out <- list(att = r$overall.att, se = r$overall.se)
    if (type != "simple") out$parts <- data.frame(key = r$egt, att = r$att.egt, se = r$se.egt)
    if (type == "dynamic") {
      IF <- as.matrix(r$inf.function$dynamic.inf.func.e)
      if (!is.null(p$cluster)) {            # cluster sums (the rows of IF follow dp$cluster_vector)
        cv <- a$DIDparams$cluster_vector
        stopifnot(length(cv) == nrow(IF))
        IF <- rowsum(IF, cv)
      }
      out$vcov <- unname(crossprod(IF) / n^2)
    }
    out
  }
  dyn_opts <- list()
  for (k in c("balance_e", "min_e", "max_e")) if (!is.null(p[[k]])) dyn_opts[[k]] <- p[[k]]
  res <- list(
    id = id, data = dataname, params = p, n_units = n,
    attgt = data.frame(group = a$group, time = a$t, att = a$att, se = a$se),
    pretest = list(W = W, df = length(pre), p = if (is.na(W)) NA else 1 - pchisq(W, length(pre))),
    simple = agg("simple"),
    group = agg("group"),
    calendar = agg("calendar"),
    dynamic = do.call(agg, c(list("dynamic"), dyn_opts))
  )
  res$seconds <- as.numeric(Sys.time() - t0, units = "secs")
  res
}

mpp <- function(...) modifyList(list(y = "lemp", unit = "countyreal", time = "year", adopt = "first.treat"), list(...))
dmp <- function(...) modifyList(list(y = "so2", unit = "city_code", time = "year", adopt = "adopt0"), list(...))
demo_no2015 <- demo[demo$adopt0 != 2015, ]

cases <- list(
  run("mpdta_never_varying", mp, "mpdta", mpp(control = "never", base = "varying")),
  run("mpdta_notyet_varying", mp, "mpdta", mpp(control = "notyet", base = "varying")),
  run("mpdta_never_universal", mp, "mpdta", mpp(control = "never", base = "universal")),
  run("mpdta_notyet_universal", mp, "mpdta", mpp(control = "notyet", base = "universal")),
  run("mpdta_never_reg_lpop", mp, "mpdta", mpp(control = "never", covariates = "lpop", est = "reg")),
  run("mpdta_never_ipw_lpop", mp, "mpdta", mpp(control = "never", covariates = "lpop", est = "ipw")),
  run("mpdta_never_dr_lpop", mp, "mpdta", mpp(control = "never", covariates = "lpop", est = "dr")),
  run("mpdta_notyet_dr_lpop_universal", mp, "mpdta", mpp(control = "notyet", base = "universal", covariates = "lpop", est = "dr")),
  run("mpdta_notyet_ipw_lpop", mp, "mpdta", mpp(control = "notyet", covariates = "lpop", est = "ipw")),
  # anticipation 1: cohort 2004 has no pre-period (did drops it with a warning; did-cs says so as an error)
  run("mpdta_never_anticipation1", mp, "mpdta", mpp(control = "never", anticipation = 1, exclude = list(first.treat = list(2004))),
      rdata = mp[mp$first.treat != 2004, ]),
  run("mpdta_notyet_universal_anticipation1", mp, "mpdta", mpp(control = "notyet", base = "universal", anticipation = 1, exclude = list(first.treat = list(2004))),
      rdata = mp[mp$first.treat != 2004, ]),
  run("mpdta_never_dynamic_window", mp, "mpdta", mpp(control = "never", min_e = -2, max_e = 2)),
  run("mpdta_never_balance1", mp, "mpdta", mpp(control = "never", balance_e = 1)),
  run("mpdta_never_dr_lpop_cluster_state", mp, "mpdta", mpp(control = "never", covariates = "lpop", est = "dr", cluster = "state")),
  run("demo_never_varying", demo, "demo", dmp(control = "never", base = "varying")),
  run("demo_notyet_varying", demo, "demo", dmp(control = "notyet", base = "varying")),
  run("demo_never_universal", demo, "demo", dmp(control = "never", base = "universal")),
  run("demo_never_dr_pgdp_fin_fis", demo, "demo", dmp(control = "never", covariates = c("pgdp", "fin", "fis"), est = "dr", exclude = list(adopt0 = list(2015))), rdata = demo_no2015),
  run("demo_notyet_dr_pgdp", demo, "demo", dmp(control = "notyet", covariates = "pgdp", est = "dr", exclude = list(adopt0 = list(2015))), rdata = demo_no2015),
  run("demo_never_reg_pgdp_fin_fis", demo, "demo", dmp(control = "never", covariates = c("pgdp", "fin", "fis"), est = "reg"))
)

# R timing of the benchmark configuration (bench/did-cs.bench.ts): dr, pgdp + fin + fis, cohort 2015
# excluded, 999 multiplier-bootstrap draws, att_gt + the four aggte calls; median of 3.
bench_once <- function() {
  d <- demo_no2015; d$G_ <- d$adopt0
  t0 <- Sys.time()
  a <- suppressWarnings(suppressMessages(att_gt("so2", "year", "city_code", "G_", ~ pgdp + fin + fis, data = d,
                                                est_method = "dr", bstrap = TRUE, biters = 999, cband = TRUE)))
  for (ty in c("simple", "group", "calendar", "dynamic")) invisible(suppressWarnings(aggte(a, type = ty)))
  as.numeric(Sys.time() - t0, units = "secs")
}
bench <- median(replicate(3, bench_once()))

out <- list(
  source = paste0("R ", R.version$major, ".", R.version$minor, ", did ", packageVersion("did"), ", DRDID ",
                  packageVersion("DRDID"), ", BMisc ", packageVersion("BMisc"), ", fastglm ", packageVersion("fastglm"),
                  "; Rscript test/golden/did-cs/did-cs.R"),
  bench_r_seconds = bench,
  cases = cases
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", null = "null", pretty = FALSE), "test/golden/did-cs/did-cs.json")
cat("wrote test/golden/did-cs/did-cs.json; bench (R) =", bench, "s\n")
