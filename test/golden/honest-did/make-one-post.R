# Golden values for the one-post-period path of stats/honest-did.ts (HonestDiD's no-nuisance ARP
# test, .APR_computeCI_NoNuis) from the R package HonestDiD 0.2.8:
#   Rscript test/golden/honest-did/make-one-post.R   (repo root; HonestDiD on .libPaths())
# Data: BCdata_EventStudy's 4 pre-periods and its first post period (betahat[1:5], sigma[1:5, 1:5]),
# relative magnitudes, C-LF and Conditional, on a 200-point grid (gridPoints = 200).
suppressPackageStartupMessages({
  library(jsonlite)
  if (!exists("createSensitivityResults_relativeMagnitudes")) library(HonestDiD)
})
if (!exists("BCdata_EventStudy")) data(BCdata_EventStudy)
b <- BCdata_EventStudy$betahat[1:5]; S <- BCdata_EventStudy$sigma[1:5, 1:5]
cases <- list()
for (method in c("C-LF", "Conditional")) {
  mbar <- c(0, 0.5, 1, 2)
  r <- createSensitivityResults_relativeMagnitudes(betahat = b, sigma = S, numPrePeriods = 4, numPostPeriods = 1,
                                                   Mbarvec = mbar, method = method, gridPoints = 200)
  cases[[length(cases) + 1]] <- list(method = method, mbar = mbar, lb = r$lb, ub = r$ub)
}
writeLines(toJSON(list(betahat = b, sigma = unname(S), num_pre = 4, num_post = 1, grid_points = 200, cases = cases),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE), "test/golden/honest-did/golden-one-post.json")
