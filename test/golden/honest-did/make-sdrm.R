# Golden values for the relative-magnitudes bound "deviation from linear trend" (Δ^SDRM) of
# stats/honest-did.ts, from the R package HonestDiD 0.2.8 (built from GitHub):
#   R_LIBS=<library with HonestDiD> Rscript test/golden/honest-did/make-sdrm.R   (repo root)
# createSensitivityResults_relativeMagnitudes(bound = "deviation from linear trend"), methods C-LF
# (default) and Conditional, on BCdata_EventStudy (4 pre, 4 post: first post period and the average;
# first five coefficients: one post period) and the demo event study (average). Default grid.
suppressPackageStartupMessages({ library(HonestDiD); library(jsonlite) })
data(BCdata_EventStudy)
b <- BCdata_EventStudy$betahat; S <- BCdata_EventStudy$sigma
run <- function(bb, SS, npre, npost, l, method, target, Mbarvec) {
  r <- createSensitivityResults_relativeMagnitudes(betahat = bb, sigma = SS, numPrePeriods = npre,
         numPostPeriods = npost, l_vec = l, Mbarvec = Mbarvec, method = method, alpha = 0.05,
         bound = "deviation from linear trend")
  list(num_pre = npre, num_post = npost, target = target, method = method, l_vec = as.numeric(l),
       mbar = Mbarvec, lb = r$lb, ub = r$ub)
}
t0 <- Sys.time()
cases <- list(
  run(b, S, 4, 4, basisVector(1, 4), "C-LF", "first", c(0, 0.5, 1, 2)),
  run(b, S, 4, 4, basisVector(1, 4), "Conditional", "first", c(0, 1)),
  run(b, S, 4, 4, matrix(rep(0.25, 4), ncol = 1), "C-LF", "average", c(0, 1)),
  run(b[1:5], S[1:5, 1:5], 4, 1, basisVector(1, 1), "C-LF", "first", c(0, 1)))
cat("bc done in", format(Sys.time() - t0), "\n")
demo <- fromJSON("test/golden/honest-did/demo-event-study.json")
DS <- as.matrix(demo$sigma); DS <- (DS + t(DS)) / 2
dl <- matrix(rep(1 / demo$num_post, demo$num_post), ncol = 1)
dm <- list(run(demo$betahat, DS, demo$num_pre, demo$num_post, dl, "C-LF", "average", c(0, 1)))
cat("demo done in", format(Sys.time() - t0), "\n")
writeLines(toJSON(list(package_version = as.character(packageVersion("HonestDiD")),
                       bc = list(betahat = b, sigma = unname(S), cases = cases), demo = list(cases = dm)),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE), "test/golden/honest-did/golden-sdrm.json")
