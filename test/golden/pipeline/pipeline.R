# End-to-end golden values for pipeline.yaml on the SIMULATED demo panel, computed in R without any
# of the project's TypeScript: this script reads the three input files itself, rebuilds the panel
# (roster and register merged by code, derived columns, filters), and estimates every regression
# node of pipeline.yaml, the event study and the PSM match + PSM-DID.
#
# Run from the project root:  Rscript test/golden/pipeline/pipeline.R   → test/golden/pipeline/pipeline.json
# (R 4.2 with sandwich, jsonlite, MatchIt 4.5.1; Debian packages r-cran-sandwich r-cran-matchit.)
# Helpers (roster/register merge, fit_model, event_study) are in common.R, shared with public.R.
# Checked by test/pipeline-vs-r.test.ts, which runs pipeline.yaml through the engine API, twice: as
# written, and with --set panel.county_zones=parent, event_study.bin_endpoints=false, psm.replace=false
# (the `variant` part of the JSON: paths the pipeline's own settings leave unused).
#
# The rules implemented here, from steps/merge-roster.ts's docs and data/demo/README.md:
# - panel:   data/demo/city-panel.csv, a plain CSV (header on line 1; its last column source = "simulated").
#            ingest's missing markers '' / NA (the file has no other marker). clean keeps 2005–2022
#            and derives large = urban_pop >= 100 (urban_pop in 10,000 persons).
# - roster:  data/pilot-zones.csv. Entries of level county / new-area (义乌, 珲春, 绥芬河, 满洲里,
#            阿拉山口, 雄安新区) treat nobody (county_zones: ignore: not even their parent). Every
#            other entry is matched by its code: a current register code, else a register unit's
#            former code (no entry of the roster needs a name fallback; the script stops if one would).
#            A city's adoption year = the earliest year among the entries of its own code.
# - register: data/cities.csv, by code: region, resource_based, municipality (the 4 municipalities
#            have codes 110000, 120000, 310000, 500000). Panel codes resolve directly, by former code,
#            or XX0100/XX0200 → XX0000 for municipalities (the script stops if a code fails).
# - adopt = adoption year (NA = never a pilot); treat = 1 if adopt is not NA; did = year >= adopt
#   (0 for never-treated cities).
#
# Regressions (the project's conventions: README "Numerical conventions", stats/ols.ts, stats/vcov.ts):
# - complete cases of y, regressors, fixed effects and cluster after the node's where/exclude;
# - singleton observations of the fixed effects dropped iteratively (until none is left);
# - lm(y ~ regressors + factor(fe1) + factor(fe2)): coefficients;
# - CR1 clustered by city: V = vcovCL(type = "HC0", cadjust = FALSE) × (N − 1)/(N − K) × G/(G − 1),
#   the scaling computed explicitly here. K = rank of lm(y ~ regressors + the fixed effects NOT nested
#   in the cluster variable) — i.e. a fixed effect each of whose levels lies in one cluster (city FE
#   with clustering by city) does not count (reghdfe / fixest "nested" rule). For city + year FE:
#   K = regressors + 1 + (years − 1). For province + year FE (province not nested in city): K = the
#   full lm rank. The sandwich is also recomputed by hand from the FE-residualised regressors (FWL)
#   and must agree with vcovCL to 1e-10;
# - p-values and CIs from t(G − 1);
# - R² = 1 − RSS/TSS of the lm; within R² = 1 − RSS / Σ ỹ², ỹ = y residualised on the FE dummies;
# - _cons (reghdfe) = ȳ − x̄'β̂ over the estimation sample.
# Event study: rel = year − adopt (treated cities only), binned into [−10, 7] (rel < −10 counts as
# −10, the base, so those rows get no dummy; rel > 7 counts as 7); one dummy per period −9..7;
# never-treated cities have all dummies 0; controls and city + year FE; the pre-trend test is the
# Wald F of periods −9..−1 with V above, df (9, G − 1).
# PSM (pipeline node psm): logit of treat on the 5 controls over the rows where the 5 controls are
# all present (glm, tolerance 1e-14), 1:1 nearest neighbour on the propensity score WITH replacement,
# caliper 0.05 in raw score units; matched sample = treated rows with a match + the controls used
# (each once); psm_did = the baseline regression on that sample, unweighted. MatchIt 4.5.1 compares
# gaps through C's integer abs() (kosukeimai/MatchIt#163), so it is given the score × SCALE (as in
# test/golden/match/match.R) and checked against a brute-force R matcher of the intended algorithm.
suppressPackageStartupMessages({ library(sandwich); library(jsonlite); library(MatchIt) })

# ---------------------------------------------------------------------------------------------------
# data
source("test/golden/pipeline/common.R")   # roster/register merge, fit_model(), event_study()
panel <- rd("data/demo/city-panel.csv", na.strings = c("", "NA"))
stopifnot(all(panel$source == "simulated"))
stopifnot(nrow(panel) == 287 * 18, !anyDuplicated(panel[, c("city_code", "year")]))

# clean: years 2005–2022, large = urban_pop >= 100
panel <- panel[panel$year >= 2005 & panel$year <= 2022, ]
panel$large <- as.numeric(panel$urban_pop >= 100)

# merge by code (common.R: attach_register, adoption, with_adoption)
panel <- attach_register(panel)
panel_parent <- with_adoption(panel, adoption("parent"))
panel <- with_adoption(panel, adoption("ignore"))
rownames(panel) <- NULL; rownames(panel_parent) <- NULL
panel$.row <- panel_parent$.row <- seq_len(nrow(panel))    # 1-based row number of the merged panel

controls <- c("pgdp", "indus", "urb", "fin", "fis")

nodes <- list()
add <- function(id, d, y, x, fe = c("city_code", "year"), desc) {
  r <- fit_model(d, y, x, fe)
  nodes[[id]] <<- c(list(id = id, spec = desc), r$model)
  invisible(r)
}
X <- c("did", controls)
add("t3_did_only", panel, "so2", "did", desc = "so2 ~ did | city_code + year")
base <- add("baseline", panel, "so2", X, desc = "so2 ~ did + 5 controls | city_code + year")
add("baseline_province_fe", panel, "so2", X, fe = c("province", "year"), desc = "so2 ~ did + controls | province + year")
add("co2", panel, "co2", X, desc = "co2 ~ …")
add("so2_intensity", panel, "so2_int", X, desc = "so2_int ~ …")
add("no_municipalities", panel[panel$municipality != 1, ], "so2", X, desc = "exclude municipality == 1")
add("no_covid", panel[panel$year <= 2019, ], "so2", X, desc = "where year <= 2019")
add("mechanism", panel, "green_patents", X, desc = "green_patents ~ …")
for (v in c(1, 0)) add(sprintf("by_resource[%d]", v), panel[panel$resource_based == v, ], "so2", X, desc = sprintf("where resource_based == %d", v))
for (v in c("east", "central", "west", "northeast")) add(sprintf("by_region[%s]", v), panel[panel$region == v, ], "so2", X, desc = sprintf("where region == %s", v))
for (v in c(1, 0)) add(sprintf("by_size[%d]", v), panel[!is.na(panel$large) & panel$large == v, ], "so2", X, desc = sprintf("where large == %d", v))

event <- event_study(panel, ctrl = controls)

# ---------------------------------------------------------------------------------------------------
# PSM: logit score on the 5 controls, 1:1 NN, caliper 0.05 (raw score units); with replacement
# (the pipeline), or without, treated rows choosing in order of decreasing score (MatchIt's default
# m.order = "largest", the match step's default order; the variant below)
psm_match <- function(panel, replace = TRUE, caliper = 0.05) {
  pm <- panel[complete.cases(panel[, c("treat", controls)]), ]
  g <- glm(treat ~ pgdp + indus + urb + fin + fis, data = pm, family = binomial("logit"),
           control = glm.control(epsilon = 1e-14, maxit = 100))
  ps <- unname(fitted(g))
  # brute force: each treated row (all of them in data order with replacement, else by decreasing
  # score, stable) takes the nearest still-available control on each side of its position in the
  # stable sort by score; a side whose nearest available control is beyond the caliper has none;
  # the lower-score side wins an exact tie; without replacement the chosen control is used up.
  pos <- integer(nrow(pm)); pos[order(ps, seq_along(ps))] <- seq_along(ps)
  ctl <- which(pm$treat == 0); ctl <- ctl[order(pos[ctl])]
  tr <- which(pm$treat == 1)
  avail <- rep(TRUE, length(ctl))
  brute <- rep(NA_integer_, length(tr))
  visit <- if (replace) seq_along(tr) else order(-ps[tr], tr)
  for (j in visit) {
    i <- tr[j]
    k <- findInterval(pos[i], pos[ctl])                      # controls with pos < pos[i]: ctl[1..k]
    l <- which(avail[seq_len(k)]); r <- which(avail[k + seq_len(length(ctl) - k)])
    kl <- if (length(l)) ctl[max(l)] else NA; kr <- if (length(r)) ctl[k + min(r)] else NA
    if (!is.na(kl) && abs(ps[i] - ps[kl]) > caliper) kl <- NA
    if (!is.na(kr) && abs(ps[i] - ps[kr]) > caliper) kr <- NA
    c <- if (!is.na(kl) && !is.na(kr)) { if (abs(ps[kl] - ps[i]) <= abs(ps[kr] - ps[i])) kl else kr } else if (!is.na(kl)) kl else kr
    if (!is.na(c)) { brute[j] <- c; if (!replace) avail[match(c, ctl)] <- FALSE }
  }
  SCALE <- floor(2e9 / (max(ps) - min(ps)))
  m <- matchit(treat ~ pgdp + indus + urb + fin + fis, data = pm, method = "nearest", distance = ps * SCALE,
               replace = replace, ratio = 1, caliper = caliper * SCALE, std.caliper = FALSE, m.order = "largest")
  mi <- match(m$match.matrix[, 1], rownames(pm))
  stopifnot(identical(as.integer(mi), as.integer(brute)))
  matched_t <- tr[!is.na(brute)]
  used_c <- sort(unique(brute[!is.na(brute)]))
  sample <- pm[sort(c(matched_t, used_c)), ]
  stopifnot(all(m$weights[sort(c(matched_t, used_c))] > 0), sum(m$weights > 0) == nrow(sample))
  list(sample = sample, info = list(
    replace = replace, rows_used = nrow(pm), treated = length(tr), matched_treated = length(matched_t), distinct_controls = length(used_c),
    sample_rows = nrow(sample), scale = SCALE,
    glm = as.list(coef(g)),
    pairs = list(treated_row = pm$.row[matched_t], control_row = pm$.row[brute[!is.na(brute)]],
                 ps_treated = ps[matched_t], ps_control = ps[brute[!is.na(brute)]]),
    sample_row = sample$.row))
}
pr <- psm_match(panel)
add("psm_did", pr$sample, "so2", X, desc = "baseline on the PSM sample (unweighted)")
psm <- pr$info

# ---------------------------------------------------------------------------------------------------
# a variant exercising non-default paths (test: overrides panel.county_zones=parent,
# event_study.bin_endpoints=false, psm.replace=false): county-level zones and 雄安 treat their parent
# prefecture from their year; the event study drops treated rows outside [−10, 7]; PSM without
# replacement, largest score first.
panel_summary <- function(panel) list(
  rows = nrow(panel), cities = length(unique(panel$city_code)),
  treated_cities = length(unique(panel$city_code[panel$treat == 1])),
  adopt_counts = as.list(table(panel$adopt[!duplicated(panel$city_code)])),
  did_sum = sum(panel$did), large_cities = length(unique(panel$city_code[panel$large %in% 1])))
main_nodes <- nodes
nodes <- list()
add("baseline", panel_parent, "so2", X, desc = "baseline, county_zones: parent")
vp <- psm_match(panel_parent, replace = FALSE)
add("psm_did", vp$sample, "so2", X, desc = "PSM-DID, county_zones: parent, matched without replacement")
variant <- list(
  overrides = list("panel.county_zones" = "parent", "event_study.bin_endpoints" = FALSE, "psm.replace" = FALSE),
  panel = panel_summary(panel_parent),
  parent_adoption = lapply(split(panel_parent, panel_parent$city_code), function(d) d$adopt[1])[
    as.character(unique(panel_parent$city_code[!is.na(panel_parent$adopt) & (is.na(panel$adopt) | panel$adopt != panel_parent$adopt)]))],
  models = unname(nodes), event_study = event_study(panel_parent, ctrl = controls, bin = FALSE), psm = vp$info)

out <- list(
  generated_by = "Rscript test/golden/pipeline/pipeline.R",
  r_version = R.version.string, sandwich = as.character(packageVersion("sandwich")), matchit = as.character(packageVersion("MatchIt")),
  panel = panel_summary(panel),
  models = unname(main_nodes), event_study = event, psm = psm, variant = variant)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "null"),
           "test/golden/pipeline/pipeline.json")
cat("wrote test/golden/pipeline/pipeline.json:", length(main_nodes), "models, event study, psm; variant\n")
