# End-to-end golden values for pipeline.yaml on the SIMULATED demo panel, computed in R without any
# of the project's TypeScript: this script reads the three input files itself, rebuilds the panel
# (roster and register merged by code, derived columns, filters), and estimates every regression
# node of pipeline.yaml, the event study and the PSM match + PSM-DID.
#
# Run from the project root:  Rscript test/golden/pipeline/pipeline.R   → test/golden/pipeline/pipeline.json
# (R 4.2 with sandwich, jsonlite, MatchIt 4.5.1; Debian packages r-cran-sandwich r-cran-matchit.)
# Checked by test/pipeline-vs-r.test.ts, which runs pipeline.yaml through the engine API, twice: as
# written, and with --set panel.county_zones=parent, event_study.bin_endpoints=false, psm.replace=false
# (the `variant` part of the JSON: paths the pipeline's own settings leave unused).
#
# The rules implemented here, from steps/merge-roster.ts's docs and data/demo/README.md:
# - panel:   data/demo/city-panel.csv, first line a `# SIMULATED …` comment (skipped), then a header.
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
rd <- function(p, ...) read.csv(p, stringsAsFactors = FALSE, check.names = FALSE, fileEncoding = "UTF-8", ...)
panel <- rd("data/demo/city-panel.csv", skip = 1, na.strings = c("", "NA"))
stopifnot(nrow(panel) == 287 * 18, !anyDuplicated(panel[, c("city_code", "year")]))
roster <- rd("data/pilot-zones.csv", colClasses = "character")
reg <- rd("data/cities.csv", colClasses = "character")

# clean: years 2005–2022, large = urban_pop >= 100
panel <- panel[panel$year >= 2005 & panel$year <= 2022, ]
panel$large <- as.numeric(panel$urban_pop >= 100)

# register lookups by code
former <- do.call(rbind, lapply(seq_len(nrow(reg)), function(i) {
  fc <- strsplit(reg$former_codes[i], ";", fixed = TRUE)[[1]]
  fc <- fc[fc != ""]
  if (length(fc)) data.frame(former = fc, code = reg$code[i]) else NULL
}))
resolve <- function(code) {
  if (code %in% reg$code) return(code)
  if (code %in% former$former) return(former$code[match(code, former$former)])
  if (grepl("^(11|12|31|50)0[12]00$", code)) return(paste0(substr(code, 1, 2), "0000"))
  NA_character_
}

# roster → adoption year per register code: own-code entries; county-level zones and 雄安 are ignored
# (county_zones: ignore, the pipeline's setting) or attributed to their parent prefecture (parent,
# the variant checked below)
adoption <- function(county_zones = "ignore") {
  own <- roster[!(roster$level %in% c("county", "new-area")), ]
  stopifnot(all(own$code != ""))          # no entry needs the name fallback
  own$unit <- vapply(own$code, resolve, "")
  if (county_zones == "parent") {
    cz <- roster[roster$level %in% c("county", "new-area"), ]
    cz$unit <- vapply(cz$parent_code, resolve, "")
    own <- rbind(own, cz)
  }
  stopifnot(!anyNA(own$unit))
  tapply(as.integer(own$year), own$unit, min)
}

# merge by code
panel$unit <- vapply(as.character(panel$city_code), resolve, "")
stopifnot(!anyNA(panel$unit))
ri <- match(panel$unit, reg$code)
panel$region <- reg$region[ri]
panel$resource_based <- as.numeric(reg$resource_based[ri])
panel$municipality <- as.numeric(reg$municipality[ri])
with_adoption <- function(panel, adopt_by_unit) {
  panel$adopt <- as.numeric(adopt_by_unit[panel$unit])      # NA = never a pilot
  panel$treat <- as.numeric(!is.na(panel$adopt))
  panel$did <- as.numeric(!is.na(panel$adopt) & panel$year >= panel$adopt)
  panel
}
panel_parent <- with_adoption(panel, adoption("parent"))
panel <- with_adoption(panel, adoption("ignore"))
rownames(panel) <- NULL; rownames(panel_parent) <- NULL
panel$.row <- panel_parent$.row <- seq_len(nrow(panel))    # 1-based row number of the merged panel

controls <- c("pgdp", "indus", "urb", "fin", "fis")

# ---------------------------------------------------------------------------------------------------
# regression with the project's conventions
drop_singletons <- function(d, fe) {
  repeat {
    n0 <- nrow(d)
    for (f in fe) { tab <- table(d[[f]]); d <- d[d[[f]] %in% names(tab)[tab > 1], , drop = FALSE] }
    if (nrow(d) == n0) return(d)
  }
}
nested_in <- function(d, f, cl) all(tapply(d[[cl]], d[[f]], function(v) length(unique(v))) == 1)
num <- function(x) unname(as.numeric(x))

fit_model <- function(d, y, x, fe = c("city_code", "year"), cl = "city_code") {
  d <- d[complete.cases(d[, c(y, x, fe, cl)]), , drop = FALSE]
  n_complete <- nrow(d)
  d <- drop_singletons(d, fe)
  for (f in fe) d[[paste0(".f_", f)]] <- factor(d[[f]])
  rhs <- c(x, paste0(".f_", fe))
  fit <- lm(reformulate(rhs, response = y), data = d)
  b <- coef(fit)[x]
  stopifnot(!anyNA(b))
  N <- nrow(d); G <- length(unique(d[[cl]]))
  nn <- fe[!vapply(fe, function(f) nested_in(d, f, cl), TRUE)]
  K <- lm(reformulate(c(x, if (length(nn)) paste0(".f_", nn)), response = y), data = d)$rank
  adj <- (N - 1) / (N - K) * G / (G - 1)
  V <- vcovCL(fit, cluster = d[[cl]], type = "HC0", cadjust = FALSE)[x, x, drop = FALSE] * adj
  # the same by hand: FWL residualised regressors, cluster scores, explicit sandwich
  dm <- function(v) resid(lm(reformulate(paste0(".f_", fe), response = "v"), data = cbind(d, v = v)))
  Xt <- sapply(x, function(v) dm(d[[v]])); Xt <- matrix(Xt, nrow = N)
  e <- resid(fit)
  B <- solve(crossprod(Xt))
  S <- rowsum(Xt * e, d[[cl]])
  V2 <- B %*% crossprod(S) %*% B * adj
  stopifnot(max(abs(V2 - V)) <= 1e-10 * max(abs(V)))
  se <- sqrt(diag(V))
  tq <- qt(0.975, G - 1)
  yt <- dm(d[[y]])
  cons <- mean(d[[y]]) - sum(colMeans(d[, x, drop = FALSE]) * b)
  list(
    model = list(
      n = N, clusters = G, k = K, singletons = n_complete - N,
      r2 = summary(fit)$r.squared, r2_within = 1 - sum(e^2) / sum(yt^2),
      coefficients = lapply(seq_along(x), function(j) list(
        term = x[j], estimate = num(b[j]), se = num(se[j]), t = num(b[j] / se[j]),
        p = num(2 * pt(-abs(b[j] / se[j]), G - 1)),
        ci_low = num(b[j] - tq * se[j]), ci_high = num(b[j] + tq * se[j]))),
      cons = cons),
    data = d, V = V, G = G)
}

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

# ---------------------------------------------------------------------------------------------------
# event study: base −10, window [−10, 7], never-treated as controls; endpoints binned (rel < −10
# counts as the base −10, rel > 7 as 7) or, with bin = FALSE, treated rows outside the window dropped
event_study <- function(panel, bin = TRUE, lo = -10, hi = 7, base = -10) {
  ev <- panel
  rel <- ev$year - ev$adopt                                  # NA for never-treated
  if (bin) rel <- pmin(pmax(rel, lo), hi)
  else { ev <- ev[is.na(rel) | (rel >= lo & rel <= hi), ]; rel <- rel[is.na(rel) | (rel >= lo & rel <= hi)] }
  periods <- setdiff(lo:hi, base)
  pname <- function(p) ifelse(p < 0, paste0("ev_m", -p), paste0("ev_p", p))
  for (p in periods) ev[[pname(p)]] <- as.numeric(!is.na(rel) & rel == p)
  er <- fit_model(ev, "so2", c(pname(periods), controls))
  eb <- vapply(er$model$coefficients, `[[`, 0, "estimate")
  es <- vapply(er$model$coefficients, `[[`, 0, "se")
  pre <- pname(periods[periods < 0])
  bpre <- eb[match(pre, c(pname(periods), controls))]
  W <- drop(t(bpre) %*% solve(er$V[pre, pre], bpre))
  Fs <- W / length(pre)
  all <- sort(c(periods, base))
  list(
    n = er$model$n, clusters = er$model$clusters, k = er$model$k, singletons = er$model$singletons,
    base = base, window = c(lo, hi), bin_endpoints = bin, rows_outside_window = nrow(panel) - nrow(ev),
    periods = lapply(all, function(p) if (p == base) list(period = p, estimate = 0, se = 0, base = TRUE)
                     else list(period = p, estimate = eb[match(p, periods)], se = es[match(p, periods)], base = FALSE)),
    controls = er$model$coefficients[length(periods) + seq_along(controls)],
    pretrend = list(stat = Fs, df1 = length(pre), df2 = er$G - 1, p = pf(Fs, length(pre), er$G - 1, lower.tail = FALSE)),
    r2 = er$model$r2, r2_within = er$model$r2_within)
}
event <- event_study(panel)

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
  models = unname(nodes), event_study = event_study(panel_parent, bin = FALSE), psm = vp$info)

out <- list(
  generated_by = "Rscript test/golden/pipeline/pipeline.R",
  r_version = R.version.string, sandwich = as.character(packageVersion("sandwich")), matchit = as.character(packageVersion("MatchIt")),
  panel = panel_summary(panel),
  models = unname(main_nodes), event_study = event, psm = psm, variant = variant)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "null"),
           "test/golden/pipeline/pipeline.json")
cat("wrote test/golden/pipeline/pipeline.json:", length(main_nodes), "models, event study, psm; variant\n")
