# Golden values for the smoothness restriction Δ^SD of stats/honest-did.ts, from the R package
# HonestDiD 0.2.8 (built from GitHub): createSensitivityResults(method = "Conditional" | "C-LF").
#   R_LIBS=<library with HonestDiD> Rscript test/golden/honest-did/make-smoothness.R   (repo root)
# Data: BCdata_EventStudy (4 pre, 4 post; first post period and the average) and its first five
# coefficients (4 pre, 1 post: the no-nuisance path). The package's default grid (identified set at
# β = 0 ± 20 sd, 1000 points).
suppressPackageStartupMessages({ library(HonestDiD); library(jsonlite) })
data(BCdata_EventStudy)
b <- BCdata_EventStudy$betahat; S <- BCdata_EventStudy$sigma
Mvec <- c(0, 0.01, 0.03)
cases <- list()
run <- function(bb, SS, npre, npost, l, method, target) {
  r <- createSensitivityResults(betahat = bb, sigma = SS, numPrePeriods = npre, numPostPeriods = npost,
                                l_vec = l, Mvec = Mvec, method = method, alpha = 0.05)
  list(num_post = npost, target = target, method = method, l_vec = as.numeric(l), m = Mvec, lb = r$lb, ub = r$ub)
}
for (method in c("Conditional", "C-LF")) {
  cases[[length(cases) + 1]] <- run(b, S, 4, 4, basisVector(1, 4), method, "first")
  cases[[length(cases) + 1]] <- run(b[1:5], S[1:5, 1:5], 4, 1, basisVector(1, 1), method, "first")
}
cases[[length(cases) + 1]] <- run(b, S, 4, 4, matrix(rep(0.25, 4), ncol = 1), "C-LF", "average")
writeLines(toJSON(list(package_version = as.character(packageVersion("HonestDiD")), betahat = b, sigma = unname(S), cases = cases),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE), "test/golden/honest-did/golden-smoothness.json")
