# Golden values for method C-F (conditional-FLCI hybrid, smoothness Δ^SD) of stats/honest-did.ts, from
# the R package HonestDiD 0.2.8 (built from GitHub, CVXR 1.0-15 behind the package's .psolve wrapper
# as in make-flci.R):
#   R_LIBS=<library with HonestDiD> Rscript test/golden/honest-did/make-cf.R   (repo root)
# createSensitivityResults(method = "C-F") on BCdata_EventStudy: 4 post periods (first) and the first
# five coefficients (one post period, the no-nuisance path). Default grid (the FLCI at size κ).
suppressPackageStartupMessages({ library(HonestDiD); library(jsonlite) })
if (!("status" %in% getNamespaceExports("CVXR"))) {
  utils::assignInNamespace(".psolve", function(problem, ...) {
    r <- CVXR::solve(problem, ...)
    list(value = r$value, status = r$status, getValue = r$getValue)
  }, ns = "HonestDiD")
}
data(BCdata_EventStudy)
b <- BCdata_EventStudy$betahat; S <- BCdata_EventStudy$sigma
run <- function(bb, SS, npre, npost, l, Mvec, target) {
  r <- createSensitivityResults(betahat = bb, sigma = SS, numPrePeriods = npre, numPostPeriods = npost,
                                l_vec = l, Mvec = Mvec, method = "C-F", alpha = 0.05)
  list(num_pre = npre, num_post = npost, target = target, method = "C-F", l_vec = as.numeric(l), m = Mvec,
       lb = r$lb, ub = r$ub,
       accepted = lapply(Mvec, function(M) which(computeConditionalCS_DeltaSD(bb, SS, npre, npost, l_vec = l, M = M,
                                                   alpha = 0.05, hybrid_flag = "FLCI")$accept == 1)))
}
t0 <- Sys.time()
cases <- list(run(b[1:5], S[1:5, 1:5], 4, 1, basisVector(1, 1), c(0, 0.03), "first"))
cat("one post done in", format(Sys.time() - t0), "\n")
cases[[2]] <- run(b, S, 4, 4, basisVector(1, 4), c(0, 0.03), "first")
cat("bc done in", format(Sys.time() - t0), "\n")
writeLines(toJSON(list(package_version = as.character(packageVersion("HonestDiD")),
                       bc = list(betahat = b, sigma = unname(S), cases = cases)),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE), "test/golden/honest-did/golden-cf.json")
