# Golden values for the event-study step (steps/event-study.ts, stats/eventstudy.ts).
# Run from the project root:  Rscript test/golden/eventstudy/make.R  → test/golden/eventstudy/golden.json
# Reference: relative-period dummies built here, lm() with unit and year factor dummies,
# sandwich::vcovCL(type = "HC0", cadjust = FALSE) × (N−1)/(N−K) × G/(G−1), K = lm rank minus the
# (nested) unit dummies; pre-trend F = b' V⁻¹ b / q with p from pf(F, q, G − 1).
suppressPackageStartupMessages({ library(sandwich); library(jsonlite) })
rd <- function(p) read.csv(p, stringsAsFactors = FALSE)
mpdta  <- rd("../shared/data/mpdta/mpdta.csv")
castle <- rd("../shared/data/bacondecomp-castle-divorce/castle.csv")

es <- function(name, dataset, d, y, unit, time, adopt, base, lo, hi, bin, controls = character(0)) {
  a <- d[[adopt]]; a[is.na(a)] <- 0
  rel <- ifelse(a > 0, d[[time]] - a, NA)
  if (bin) { rel <- pmax(pmin(rel, hi), lo) } else { d <- d[is.na(rel) | (rel >= lo & rel <= hi), ]; rel <- rel[is.na(rel) | (rel >= lo & rel <= hi)] }
  periods <- setdiff(lo:hi, base)
  nm <- ifelse(periods < 0, paste0("m", -periods), paste0("p", periods))
  for (j in seq_along(periods)) d[[nm[j]]] <- as.numeric(!is.na(rel) & rel == periods[j])
  d <- d[complete.cases(d[, c(y, controls)]), ]
  d$.u <- factor(d[[unit]]); d$.t <- factor(d[[time]])
  f <- lm(as.formula(paste(y, "~ .u + .t +", paste(c(nm, controls), collapse = " + "))), data = d)
  N <- nrow(d); G <- length(unique(d[[unit]]))
  K <- f$rank - (nlevels(d$.u) - 1)  # unit FE nested in the unit clusters: not counted
  V <- vcovCL(f, cluster = ~.u, type = "HC0", cadjust = FALSE) * (N - 1) / (N - K) * G / (G - 1)
  b <- coef(f)[nm]; se <- sqrt(diag(V)[nm])
  pre <- nm[periods < 0]
  W <- as.numeric(t(b[pre]) %*% solve(V[pre, pre], b[pre])); q <- length(pre)
  list(name = name, dataset = dataset,
       params = list(y = y, unit = unit, time = time, adopt = adopt, base = base, window = c(lo, hi), bin_endpoints = bin, controls = I(controls)),
       n = N, clusters = G, K = K,
       periods = lapply(seq_along(periods), function(j) list(period = periods[j], estimate = unname(b[j]), se = unname(se[j]))),
       pretrend = list(stat = W / q, df1 = q, df2 = G - 1, p = pf(W / q, q, G - 1, lower.tail = FALSE)))
}
cases <- list(
  es("mpdta_full", "mpdta", mpdta, "lemp", "countyreal", "year", "first.treat", -1, -4, 3, TRUE),
  es("mpdta_binned_base2", "mpdta", mpdta, "lemp", "countyreal", "year", "first.treat", -2, -2, 2, TRUE, "lpop"),
  es("castle_binned", "castle", castle, "l_homicide", "sid", "year", "effyear", -1, -5, 4, TRUE, c("l_police", "unemployrt")),
  es("castle_window_nobin", "castle", castle, "l_homicide", "sid", "year", "effyear", -1, -3, 3, FALSE)
)
writeLines(toJSON(list(generated_by = "test/golden/eventstudy/make.R", R = R.version.string, cases = cases),
                  auto_unbox = TRUE, digits = NA, pretty = TRUE), "test/golden/eventstudy/golden.json")
cat("wrote", length(cases), "cases\n")
