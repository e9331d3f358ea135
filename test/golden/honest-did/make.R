# Golden values for stats/honest-did.ts / steps/honest-did.ts from the R package HonestDiD
# (asheshrambachan/HonestDiD 0.2.8, built from its GitHub source with its dependencies).
#   Rscript test/golden/honest-did/make.R     (from the repo root; HonestDiD on .libPaths(), e.g.
#   R_LIBS=<library with HonestDiD> Rscript ...)
# Cases:
#  1. the package's own example: the Benzarti–Carloni event study shipped as BCdata_EventStudy
#     (4 pre, 4 post periods); relative magnitudes, C-LF (default) and Conditional, first post period
#     and the average of the post periods; the original CI.
#  2. the demo panel's event study (test/golden/honest-did/demo-event-study.json, from our pipeline:
#     repro run --target event_study; show event_study --json), 9 pre and 8 post periods, C-LF.
# Bounds are the min/max accepted values of the package's grid (gridPoints = 1000 on ±20 sd).
suppressPackageStartupMessages({
  library(jsonlite)
  # a session that has sourced the package's R/ files already (same code) skips library()
  if (!exists("createSensitivityResults_relativeMagnitudes")) library(HonestDiD)
})
if (!exists("BCdata_EventStudy")) data(BCdata_EventStudy)
create_A_RM <- if (exists(".create_A_RM")) .create_A_RM else HonestDiD:::.create_A_RM
version <- tryCatch(as.character(packageVersion("HonestDiD")), error = function(e) "0.2.8 (sourced R/ files, commit 6813f02)")
bc <- BCdata_EventStudy
out <- list(package_version = version,
            bc = list(betahat = bc$betahat, sigma = unname(bc$sigma), num_pre = 4, num_post = 4, cases = list()),
            demo = list(cases = list()))
rm_case <- function(b, S, npre, npost, l, method, mbar) {
  r <- createSensitivityResults_relativeMagnitudes(betahat = b, sigma = S, numPrePeriods = npre, numPostPeriods = npost,
                                                   l_vec = l, Mbarvec = mbar, method = method, alpha = 0.05)
  o <- constructOriginalCS(betahat = b, sigma = S, numPrePeriods = npre, numPostPeriods = npost, l_vec = l, alpha = 0.05)
  list(method = method, l_vec = as.numeric(l), mbar = mbar, lb = r$lb, ub = r$ub, original = c(o$lb, o$ub))
}
# building blocks: TruncatedNormal::norminvp (used by the conditional test) and .create_A_RM
np <- list(c(0.95, 3, Inf), c(0.5, -1, 2), c(0.9, 30, 31), c(0.975, -Inf, -5), c(0.95, 0.1, 0.3), c(0.99, -2, Inf))
out$norminvp <- lapply(np, function(x) c(x[1:3], TruncatedNormal::norminvp(x[1], x[2], x[3])))
out$A_RM_2_2_1_0 <- unname(create_A_RM(numPrePeriods = 2, numPostPeriods = 2, Mbar = 1, s = 0, max_positive = TRUE))
t0 <- Sys.time()
# (R takes ~2 min per M̄ value here, so a few values per case)
bc_cases <- list(list("C-LF", "first", c(0, 1, 2)), list("C-LF", "average", c(0.5, 1.5)), list("Conditional", "first", c(0, 1)))
for (cs in bc_cases) {
  l <- if (cs[[2]] == "first") basisVector(1, 4) else matrix(rep(1 / 4, 4), ncol = 1)
  out$bc$cases[[length(out$bc$cases) + 1]] <- c(list(target = cs[[2]]), rm_case(bc$betahat, bc$sigma, 4, 4, l, cs[[1]], cs[[3]]))
}
cat("BC done in", format(Sys.time() - t0), "\n")
demo <- fromJSON("test/golden/honest-did/demo-event-study.json")
S <- as.matrix(demo$sigma); S <- (S + t(S)) / 2
l <- matrix(rep(1 / demo$num_post, demo$num_post), ncol = 1)
t0 <- Sys.time()
out$demo$cases[[1]] <- c(list(target = "average"), rm_case(demo$betahat, S, demo$num_pre, demo$num_post, l, "C-LF", c(0, 1)))
cat("demo done in", format(Sys.time() - t0), "\n")
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "string"), "test/golden/honest-did/golden.json")
