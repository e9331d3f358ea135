# Golden values for stats/wild-bootstrap.ts against fwildclusterboot (Fischer & Roodman), the R port
# of boottest's "fast and wild" algorithm:
#   R_LIBS=<lib with fwildclusterboot 0.14.3 and fixest> Rscript test/golden/wild-bootstrap/make-fwcb.R
# (from the repo root). fwildclusterboot 0.14.3 was built from GitHub s3alfisc/fwildclusterboot @ 336bb57
# (with summclust 0.7.0 and JuliaConnectoR from GitHub, the rest Debian r-cran-*), fixest 0.12.x.
# Writes voters.csv (the package's own example data `voters`, the columns used) and golden-fwcb.json.
#
# Cases:
#  (1) the package's published example (README / vignette): voters, proposition_vote ~ treatment +
#      ideology1 + log_income | Q1_immigration, clustered by group_id1 (40 clusters), B = 9999:
#      Rademacher WCR and WCU, Webb WCR (random draws: agreement within Monte Carlo error);
#      and the same on the 12 clusters group_id1 <= 12 (2^12 = 4096 <= 9999: full enumeration, exact).
#  (2) the SIMULATED demo panel (data/demo/city-panel.csv with the pilot roster as pipeline.yaml):
#      so2 ~ did + 5 controls | city_code + year clustered by city_code (287 clusters, random draws),
#      and the east region clustered by province (10 clusters, full enumeration, exact);
#      the event study of Figure 1 (base -10, window [-10, 7], binned endpoints, 5 controls) with a
#      boottest per period coefficient: clustered by city_code (random) and east/province (exact).
#
# Conventions: fwildclusterboot's two-tailed p is mean(|t| < |t*|) (strict; under WCR the draws v = 1
# and v = -1 reproduce |t| exactly and are not counted); stats/wild-bootstrap.ts counts ties
# (|t*| >= |t|) unless `strict` is set: the TS tests compare with strict: true. The test-inversion CI
# is computed with tol = 1e-12, maxiter = 200 here (the package's default 1e-6 / 10 iterations stops
# before the p-value's jump is located to full precision). Each case records `ties`: the number of
# draws with |t*| = |t| (relative 1e-10), so p_ties_counted = p + ties / B.
suppressPackageStartupMessages({ library(fwildclusterboot); library(fixest); library(jsonlite) })
stopifnot(packageVersion("fwildclusterboot") == "0.14.3")
setFixest_nthreads(1)
source("test/golden/pipeline/common.R")   # rd(), attach_register(), adoption(), with_adoption()

data(voters)
v <- voters[, c("proposition_vote", "treatment", "ideology1", "log_income", "Q1_immigration", "group_id1")]
write.csv(v, "test/golden/wild-bootstrap/voters.csv", row.names = FALSE)

one <- function(fit, param, clustid, B, type = "rademacher", impose_null = TRUE, seed = 1) {
  dqrng::dqset.seed(seed); set.seed(seed)
  t0 <- proc.time()[["elapsed"]]
  bt <- suppressWarnings(suppressMessages(boottest(fit, param = param, clustid = clustid, B = B, type = type,
                 impose_null = impose_null, tol = 1e-12, maxiter = 200, nthreads = 1)))
  secs <- proc.time()[["elapsed"]] - t0
  ci <- as.numeric(bt$conf_int)
  ties <- sum(abs(abs(bt$t_boot) - abs(bt$t_stat)) <= 1e-10 * max(1, abs(bt$t_stat)))
  G <- bt$N_G[[1]]
  list(param = param, weights = type, impose_null = impose_null, B = bt$boot_iter, G = G,
       p = bt$p_val, ci_low = ci[1], ci_high = ci[2], t = as.numeric(bt$t_stat), ties = ties,
       enumerated = type == "rademacher" && 2^G <= B, seconds = secs)
}

cases <- list()
add <- function(id, data, model, res) cases[[length(cases) + 1]] <<- c(list(id = id, data = data), model, res)

# ---- (1) voters -----------------------------------------------------------------------------------
fv <- feols(proposition_vote ~ treatment + ideology1 + log_income | Q1_immigration, data = v, cluster = ~group_id1)
vm <- list(y = "proposition_vote", x = c("treatment", "ideology1", "log_income"), fe = list("Q1_immigration"), cluster = "group_id1")
add("voters_wcr_rademacher", "voters", vm, one(fv, "treatment", "group_id1", 9999))
add("voters_wcu_rademacher", "voters", vm, one(fv, "treatment", "group_id1", 9999, impose_null = FALSE))
add("voters_wcr_webb", "voters", vm, one(fv, "treatment", "group_id1", 9999, type = "webb"))
add("voters_wcr_rademacher_log_income", "voters", vm, one(fv, "log_income", "group_id1", 9999))
v12 <- v[v$group_id1 <= 12, ]
fv12 <- feols(proposition_vote ~ treatment + ideology1 + log_income | Q1_immigration, data = v12, cluster = ~group_id1)
vm12 <- c(vm[c("y", "x", "fe", "cluster")], list(subset = "group_id1 <= 12"))
add("voters12_wcr_enum", "voters", vm12, one(fv12, "treatment", "group_id1", 9999))
add("voters12_wcu_enum", "voters", vm12, one(fv12, "treatment", "group_id1", 9999, impose_null = FALSE))
add("voters12_wcr_enum_ideology1", "voters", vm12, one(fv12, "ideology1", "group_id1", 9999))

# ---- (2) demo panel ---------------------------------------------------------------------------------
panel <- rd("data/demo/city-panel.csv", na.strings = c("", "NA"))
panel <- panel[panel$year >= 2005 & panel$year <= 2022, ]
panel <- attach_register(panel)
panel <- with_adoption(panel, adoption("ignore"))
ctrl <- c("pgdp", "indus", "urb", "fin", "fis")
demo <- panel[complete.cases(panel[, c("so2", "did", ctrl)]), ]
# integer province codes for R (collapse refuses the Chinese names in a C locale); TS clusters by the names
demo$province <- as.integer(factor(demo$province))
east <- demo[demo$region == "east", ]
fd <- feols(so2 ~ did + pgdp + indus + urb + fin + fis | city_code + year, data = demo, cluster = ~city_code)
dm <- list(y = "so2", x = c("did", ctrl), fe = list("city_code", "year"), cluster = "city_code")
add("demo_wcr_city", "demo", dm, one(fd, "did", "city_code", 9999))
add("demo_wcu_city", "demo", dm, one(fd, "did", "city_code", 9999, impose_null = FALSE))
fe_ <- feols(so2 ~ did + pgdp + indus + urb + fin + fis | city_code + year, data = east, cluster = ~province)
em <- list(y = "so2", x = c("did", ctrl), fe = list("city_code", "year"), cluster = "province", subset = "region == east")
add("demo_east_wcr_province_enum", "demo", em, one(fe_, "did", "province", 9999))
add("demo_east_wcu_province_enum", "demo", em, one(fe_, "did", "province", 9999, impose_null = FALSE))

# the event study of Figure 1: rel = year - adopt binned into [-10, 7], base -10, never-treated rel NA
es_design <- function(d) {
  rel <- pmin(pmax(d$year - d$adopt, -10), 7)
  per <- setdiff(-10:7, -10)
  nm <- ifelse(per < 0, paste0("rel_m", -per), paste0("rel_p", per))
  for (j in seq_along(per)) d[[nm[j]]] <- as.numeric(!is.na(rel) & rel == per[j])
  list(d = d, per = per, nm = nm)
}
event_cases <- list()
es_run <- function(id, d, cl, B, impose_null = TRUE) {
  e <- es_design(d)
  es_data <<- e$d   # boottest re-evaluates the model's data argument in the global environment
  f <- feols(as.formula(paste("so2 ~", paste(c(e$nm, ctrl), collapse = " + "), "| city_code + year")), data = es_data)
  keep <- e$nm[e$nm %in% names(coef(f))]
  per <- lapply(seq_along(e$per), function(j) {
    if (!(e$nm[j] %in% keep)) return(NULL)
    r <- one(f, e$nm[j], cl, B, impose_null = impose_null, seed = j)
    c(list(period = e$per[j], estimate = unname(coef(f)[e$nm[j]])), r)
  })
  event_cases[[length(event_cases) + 1]] <<- list(id = id, cluster = cl, subset = if (identical(d, east)) "region == east" else NULL,
    impose_null = impose_null, B = B, periods = Filter(Negate(is.null), per))
}
es_run("event_demo_wcr_city", demo, "city_code", 9999)
es_run("event_east_wcr_province_enum", east, "province", 9999)
es_run("event_east_wcu_province_enum", east, "province", 9999, impose_null = FALSE)

out <- list(source = "test/golden/wild-bootstrap/make-fwcb.R (fwildclusterboot 0.14.3, boottest per coefficient)",
            r_version = R.version.string, fixest = as.character(packageVersion("fixest")), cases = cases, event = event_cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), "test/golden/wild-bootstrap/golden-fwcb.json")
cat("done\n")
