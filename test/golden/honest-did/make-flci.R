# Golden values for FLCI (smoothness Δ^SD, the package's default method) of stats/honest-did.ts, from
# the R package HonestDiD 0.2.8 (built from GitHub, with CVXR/ECOS):
#   R_LIBS=<library with HonestDiD> Rscript test/golden/honest-did/make-flci.R   (repo root)
# createSensitivityResults(method = "FLCI") = findOptimalFLCI per M; also its optimal weights and
# half-length. Data: BCdata_EventStudy (4 pre, 4 post; first post period and the average; and its first
# five coefficients: one post period) and the demo panel's event study (9 pre, 8 post; average).
suppressPackageStartupMessages({ library(HonestDiD); library(jsonlite) })
# The HonestDiD sources (GitHub HEAD) call CVXR's new API (CVXR::psolve / CVXR::status, CVXR >= 1.8)
# through the wrapper .psolve; the CVXR that builds here is 1.0-15, whose solve() returns the same
# list(value, status, getValue). Route the wrapper to it (the optimisation problems are unchanged).
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
                                l_vec = l, Mvec = Mvec, method = "FLCI", alpha = 0.05)
  f <- lapply(Mvec, function(M) findOptimalFLCI(betahat = bb, sigma = SS, M = M, numPrePeriods = npre,
                                                 numPostPeriods = npost, l_vec = l, alpha = 0.05))
  list(num_pre = npre, num_post = npost, target = target, method = "FLCI", l_vec = as.numeric(l), m = Mvec,
       lb = r$lb, ub = r$ub, half_length = sapply(f, function(x) x$optimalHalfLength),
       optimal_vec = lapply(f, function(x) as.numeric(x$optimalVec)))
}
t0 <- Sys.time()
bc <- list()
bc[[1]] <- run(b, S, 4, 4, basisVector(1, 4), c(0, 0.01, 0.02, 0.03, 0.05), "first")
bc[[2]] <- run(b, S, 4, 4, matrix(rep(0.25, 4), ncol = 1), c(0, 0.01, 0.03), "average")
bc[[3]] <- run(b[1:5], S[1:5, 1:5], 4, 1, basisVector(1, 1), c(0, 0.01, 0.03), "first")
cat("bc done in", format(Sys.time() - t0), "\n")
demo <- fromJSON("test/golden/honest-did/demo-event-study.json")
DS <- as.matrix(demo$sigma); DS <- (DS + t(DS)) / 2
dl <- matrix(rep(1 / demo$num_post, demo$num_post), ncol = 1)
dm <- list(run(demo$betahat, DS, demo$num_pre, demo$num_post, dl, c(0, 0.05, 0.2), "average"))
cat("demo done in", format(Sys.time() - t0), "\n")
writeLines(toJSON(list(package_version = as.character(packageVersion("HonestDiD")),
                       bc = list(betahat = b, sigma = unname(S), cases = bc), demo = list(cases = dm)),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE), "test/golden/honest-did/golden-flci.json")
