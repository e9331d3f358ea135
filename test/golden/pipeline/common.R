# Helpers shared by pipeline.R and public.R (sourced; see pipeline.R's header for the conventions):
# the project's regression conventions on top of lm + sandwich, and the event-study design.
suppressPackageStartupMessages({ library(sandwich); library(jsonlite) })

# ---------------------------------------------------------------------------------------------------
# the roster (Table 1) and the register, merged by GB/T 2260 code
rd <- function(p, ...) read.csv(p, stringsAsFactors = FALSE, check.names = FALSE, fileEncoding = "UTF-8", ...)
roster <- rd("data/pilot-zones.csv", colClasses = "character")
reg <- rd("data/cities.csv", colClasses = "character")

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
# (county_zones: ignore, the pipelines' setting) or attributed to their parent prefecture (parent,
# pipeline.R's variant)
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

# the register's columns by panel code (a code that resolves to no unit is an error)
attach_register <- function(panel) {
  panel$unit <- vapply(as.character(panel$city_code), resolve, "")
  stopifnot(!anyNA(panel$unit))
  ri <- match(panel$unit, reg$code)
  panel$region <- reg$region[ri]
  panel$resource_based <- as.numeric(reg$resource_based[ri])
  panel$municipality <- as.numeric(reg$municipality[ri])
  panel
}

with_adoption <- function(panel, adopt_by_unit) {
  panel$adopt <- as.numeric(adopt_by_unit[panel$unit])      # NA = never a pilot
  panel$treat <- as.numeric(!is.na(panel$adopt))
  panel$did <- as.numeric(!is.na(panel$adopt) & panel$year >= panel$adopt)
  panel
}

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

# ---------------------------------------------------------------------------------------------------
# event study (defaults: pipeline.yaml's base −10, window [−10, 7]), never-treated as controls; endpoints binned (rel < −10
# counts as the base −10, rel > 7 as 7) or, with bin = FALSE, treated rows outside the window dropped
event_study <- function(panel, y = "so2", ctrl, bin = TRUE, lo = -10, hi = 7, base = -10) {
  ev <- panel
  rel <- ev$year - ev$adopt                                  # NA for never-treated
  if (bin) rel <- pmin(pmax(rel, lo), hi)
  else { ev <- ev[is.na(rel) | (rel >= lo & rel <= hi), ]; rel <- rel[is.na(rel) | (rel >= lo & rel <= hi)] }
  periods <- setdiff(lo:hi, base)
  pname <- function(p) ifelse(p < 0, paste0("ev_m", -p), paste0("ev_p", p))
  for (p in periods) ev[[pname(p)]] <- as.numeric(!is.na(rel) & rel == p)
  er <- fit_model(ev, y, c(pname(periods), ctrl))
  eb <- vapply(er$model$coefficients, `[[`, 0, "estimate")
  es <- vapply(er$model$coefficients, `[[`, 0, "se")
  pre <- pname(periods[periods < 0])
  bpre <- eb[match(pre, c(pname(periods), ctrl))]
  W <- drop(t(bpre) %*% solve(er$V[pre, pre], bpre))
  Fs <- W / length(pre)
  all <- sort(c(periods, base))
  list(
    n = er$model$n, clusters = er$model$clusters, k = er$model$k, singletons = er$model$singletons,
    base = base, window = c(lo, hi), bin_endpoints = bin, rows_outside_window = nrow(panel) - nrow(ev),
    periods = lapply(all, function(p) if (p == base) list(period = p, estimate = 0, se = 0, base = TRUE)
                     else list(period = p, estimate = eb[match(p, periods)], se = es[match(p, periods)], base = FALSE)),
    controls = er$model$coefficients[length(periods) + seq_along(ctrl)],
    pretrend = list(stat = Fs, df1 = length(pre), df2 = er$G - 1, p = pf(Fs, length(pre), er$G - 1, lower.tail = FALSE)),
    r2 = er$model$r2, r2_within = er$model$r2_within)
}
