# The baseline of Table 3 col. (2) re-estimated in R, as a `script` node of pipeline.yaml
# (baseline_r): so2 ~ did + pgdp + indus + urb + fin + fis | city_code + year, SEs clustered by city.
#
#   Rscript scripts/fixest_baseline.R PANEL.csv MODEL.json
#
# With fixest: feols() (its default small-sample correction for clustered SEs: (n-1)/(n-K) with
# fixed effects nested in the cluster not counted in K, times G/(G-1) — reghdfe's convention).
# Without fixest: lm() with city and year dummies and sandwich::vcovCL(type = "HC0", cadjust = TRUE)
# times (n-1)/(n-K), K = rank of the fit minus the city dummies nested in the cluster (G-1): the
# same convention. The JSON says which one ran (`engine`). Writes the `model` artifact contract
# (steps/common/contracts.ts), without `_cons` (fixest reports none).
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript fixest_baseline.R PANEL.csv MODEL.json")
y <- "so2"; treat <- "did"; controls <- c("pgdp", "indus", "urb", "fin", "fis")
panel <- read.csv(args[1])
need <- c(y, treat, controls, "city_code", "year")
miss <- setdiff(need, names(panel))
if (length(miss)) stop("the panel lacks column(s): ", paste(miss, collapse = ", "))
d <- panel[complete.cases(panel[, need]), need]
message("fixest_baseline: ", nrow(d), " complete rows of ", nrow(panel))
rhs <- paste(c(treat, controls), collapse = " + ")

if (requireNamespace("fixest", quietly = TRUE)) {
  engine <- paste("fixest", format(packageVersion("fixest")), "feols")
  m <- fixest::feols(as.formula(paste(y, "~", rhs, "| city_code + year")), data = d, cluster = ~city_code)
  ct <- fixest::coeftable(m)
  est <- ct[, 1]; se <- ct[, 2]
  n <- fixest::nobs(m)
  r2 <- unname(fixest::r2(m, "r2")); r2w <- unname(fixest::r2(m, "wr2"))
  G <- length(unique(d$city_code))
  dfT <- G - 1
} else {
  if (!requireNamespace("sandwich", quietly = TRUE)) stop("neither fixest nor sandwich is installed: install.packages('fixest')")
  engine <- paste("lm + sandwich", format(packageVersion("sandwich")), "(fixest not installed)")
  m <- lm(as.formula(paste(y, "~", rhs, "+ factor(city_code) + factor(year)")), data = d)
  G <- length(unique(d$city_code))
  n <- nobs(m)
  K <- m$rank - (G - 1)  # city dummies are nested in the city cluster: not counted (reghdfe, fixest)
  V <- sandwich::vcovCL(m, cluster = ~city_code, type = "HC0", cadjust = TRUE) * (n - 1) / (n - K)
  terms <- c(treat, controls)
  est <- coef(m)[terms]; se <- sqrt(diag(V)[terms])
  r2 <- summary(m)$r.squared
  # within R²: of the regression on the two-way demeaned data (Frisch–Waugh–Lovell)
  fe <- lm(as.formula(paste(y, "~ factor(city_code) + factor(year)")), data = d)
  r2w <- 1 - sum(residuals(m)^2) / sum(residuals(fe)^2)
  dfT <- G - 1
}
tval <- est / se
p <- 2 * pt(-abs(tval), dfT)
crit <- qt(0.975, dfT)
num <- function(x) if (is.na(x) || !is.finite(x)) "null" else format(x, digits = 17)
str <- function(x) paste0('"', gsub('"', '\\"', x, fixed = TRUE), '"')
coefs <- vapply(seq_along(est), function(i) sprintf(
  '{"term": %s, "estimate": %s, "se": %s, "t": %s, "p": %s, "ci_low": %s, "ci_high": %s}',
  str(names(est)[i]), num(est[i]), num(se[i]), num(tval[i]), num(p[i]), num(est[i] - crit * se[i]), num(est[i] + crit * se[i])), "")
json <- sprintf(paste0(
  '{"y": %s, "n": %s, "clusters": %s, "r2": %s, "r2_within": %s, "fixed_effects": ["city_code", "year"], ',
  '"vcov": {"type": "cluster", "by": ["city_code"], "df": %s}, "coefficients": [%s], "dropped": {"missing": %s}, ',
  '"engine": %s, "r_version": %s}'),
  str(y), num(n), num(G), num(r2), num(r2w), num(dfT), paste(coefs, collapse = ", "), num(nrow(panel) - nrow(d)),
  str(engine), str(R.version.string))
writeLines(json, args[2])
message("fixest_baseline: ", engine, ": did = ", format(est[treat], digits = 6), " (se ", format(se[treat], digits = 6), ")")
