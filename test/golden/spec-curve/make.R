# Golden values for the spec-curve step (steps/spec-curve.ts, stats/spec-curve.ts): fixest::feols in a
# loop over every specification of the grid (a "multiverse via a loop").
# Run from the project root:
#   R_LIBS=/path/with/fixest Rscript test/golden/spec-curve/make.R          → test/golden/spec-curve/golden.json
#   R_LIBS=/path/with/fixest Rscript test/golden/spec-curve/make.R --bench  → prints the seconds of the
#     1,024-specification loop of bench/spec-curve.bench.ts (nthreads = 1) as its last line
# Data: data/demo/city-panel.csv (SIMULATED), years 2005-2022, with the register (municipality) and the
# adoption year of data/pilot-zones.csv by city code, county-level zones ignored (test/golden/pipeline/common.R),
# as the pipeline's panel node (merge-roster, county_zones: ignore).
# Conventions (the project's, fixest's defaults otherwise): complete cases of the specification's
# columns, singletons dropped iteratively (own code, as test/golden/twfe/make.R), CR1 clustered SEs with
# fixest's ssc(adj = TRUE, fixef.K = "nested", cluster.adj = TRUE), t(G - 1) p-values and 95% CIs.
suppressPackageStartupMessages({ library(fixest); library(jsonlite) })
source("test/golden/pipeline/common.R")
args <- commandArgs(trailingOnly = TRUE)

panel <- rd("data/demo/city-panel.csv", na.strings = c("", "NA"))
panel <- panel[panel$year >= 2005 & panel$year <= 2022, ]
panel <- attach_register(panel)
panel <- with_adoption(panel, adoption("ignore"))
rownames(panel) <- NULL

drop_singletons <- function(d, fe) {
  repeat {
    n0 <- nrow(d)
    for (f in fe) { tab <- table(d[[f]]); d <- d[d[[f]] %in% names(tab)[tab > 1], , drop = FALSE] }
    if (nrow(d) == n0) return(d)
  }
}

samples <- list(
  all = function(d) d,
  no_municipalities = function(d) d[d$municipality != 1, ],
  to_2019 = function(d) d[d$year <= 2019, ],
  no_municipalities_to_2019 = function(d) d[d$municipality != 1 & d$year <= 2019, ]
)

fit_spec <- function(y, controls, fe, cluster, sample) {
  d <- samples[[sample]](panel)
  d <- d[complete.cases(d[, unique(c(y, "did", controls, fe, cluster)), drop = FALSE]), ]
  d <- drop_singletons(d, fe)
  fml <- as.formula(sprintf("%s ~ %s | %s", y, paste(c("did", controls), collapse = " + "), paste(fe, collapse = " + ")))
  feols(fml, data = d, cluster = as.formula(paste0("~", cluster)), nthreads = 1)
}

controls_sets <- list(character(0), c("pgdp", "indus"), c("pgdp", "indus", "urb", "fin", "fis"))
fe_sets <- list(c("city_code", "year"), c("province", "year"))

if ("--bench" %in% args) {
  # the grid of bench/spec-curve.bench.ts: 2 outcomes x 32 control subsets x 2 FE x 2 clusters x 4 samples
  ctrl <- c("pgdp", "indus", "urb", "fin", "fis")
  subsets <- lapply(0:31, function(m) ctrl[bitwAnd(m, 2^(0:4)) > 0])
  t0 <- Sys.time()
  for (y in c("so2", "so2_int")) for (cs in subsets) for (fe in fe_sets) for (cl in c("city_code", "province")) for (s in names(samples)) {
    m <- fit_spec(y, cs, fe, cl, s)
    invisible(c(coef(m)[["did"]], se(m)[["did"]]))
  }
  cat(as.numeric(difftime(Sys.time(), t0, units = "secs")), "\n")
  quit(save = "no")
}

# the grid of test/steps/spec-curve.test.ts (labels as the specs table prints them)
rows <- list()
for (y in c("so2", "so2_int")) for (cs in controls_sets) for (fe in fe_sets) for (cl in c("city_code", "province")) for (s in c("all", "no_municipalities", "to_2019")) {
  m <- fit_spec(y, cs, fe, cl, s)
  ct <- coeftable(m)["did", ]
  ci <- confint(m, level = 0.95)["did", ]
  rows[[length(rows) + 1]] <- list(
    y = y, controls = if (length(cs)) paste(cs, collapse = ", ") else "none", fe = paste(fe, collapse = " + "),
    cluster = cl, sample = s,
    estimate = unname(ct[["Estimate"]]), se = unname(ct[["Std. Error"]]), p = unname(ct[["Pr(>|t|)"]]),
    ci_low = unname(ci[[1]]), ci_high = unname(ci[[2]]), n = nobs(m)
  )
}
out <- list(
  source = "fixest::feols in a loop (test/golden/spec-curve/make.R)",
  r_version = R.version.string, fixest = as.character(packageVersion("fixest")),
  specs = rows
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "test/golden/spec-curve/golden.json")
cat("wrote test/golden/spec-curve/golden.json:", length(rows), "specifications\n")
