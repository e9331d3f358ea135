# Golden values for stats/wild-bootstrap.ts: wild cluster bootstrap p-values and CIs by FULL
# ENUMERATION, computed by brute force (refit lm with all dummies for every draw), independent of
# the fast algorithm in TypeScript.
#   Rscript test/golden/wild-bootstrap/make.R   (from the repo root; base R only)
# Writes data.csv (a small panel: 8 states x 2 units x 6 years, staggered treatment, 2 controls) and
# golden.json.
# Conventions (as stats/wild-bootstrap.ts): t = (b - r)/se_CR1, se from the CR1 sandwich of the
# full dummy regression; WCR t* = (b* - r)/se*, WCU t* = (b* - b)/se*; p = mean(|t*| > |t|)
# strictly, exact ties (relative tolerance 1e-10) not counted, as fwildclusterboot; `p_ties` counts
# them (stats/wild-bootstrap.ts with countTies). The CR1 factor cancels in p.
set.seed(42)
S <- 8; U <- 2; T <- 6
d <- expand.grid(year = 1:T, u = 1:U, state = 1:S)
d$unit <- (d$state - 1) * U + d$u
adopt <- c(3, 4, 0, 5, 3, 0, 4, 0)[d$state]   # state-level adoption, 0 = never
d$treat <- as.numeric(adopt > 0 & d$year >= adopt)
d$c1 <- round(rnorm(nrow(d)), 4)
d$c2 <- round(runif(nrow(d)), 4)
ue <- rnorm(S * U)[d$unit]; ye <- rnorm(T)[d$year]; se_ <- rnorm(S, sd = 0.5)[d$state]
d$y <- round(0.3 * d$treat + 0.5 * d$c1 - 0.2 * d$c2 + ue + ye + se_ + rnorm(nrow(d)), 4)
d <- d[, c("state", "unit", "year", "treat", "c1", "c2", "y")]
write.csv(d, "test/golden/wild-bootstrap/data.csv", row.names = FALSE)

# design with all dummies: unit and year fixed effects (unit nested in state = cluster)
X <- model.matrix(~ treat + c1 + c2 + factor(unit) + factor(year), d)
cl <- d$state; G <- length(unique(cl)); n <- nrow(d)
tstat <- function(yv, r, center) {
  fit <- lm.fit(X, yv); b <- fit$coefficients[["treat"]]
  XtXi <- chol2inv(qr.R(fit$qr))[order(fit$qr$pivot), order(fit$qr$pivot)]
  e <- fit$residuals
  S_ <- rowsum(X * e, cl)
  V <- XtXi %*% crossprod(S_) %*% XtXi
  k <- which(colnames(X) == "treat")
  (b - center) / sqrt(V[k, k])
}
fit0 <- lm.fit(X, d$y); bhat <- fit0$coefficients[["treat"]]
# restricted fit under H0: b = r
restricted <- function(r) {
  Xr <- X[, colnames(X) != "treat"]
  yr <- d$y - r * d$treat
  f <- lm.fit(Xr, yr)
  list(fitted = d$y - f$residuals, resid = f$residuals)
}
webb <- c(-sqrt(1.5), -1, -sqrt(0.5), sqrt(0.5), 1, sqrt(1.5))
draws <- function(kind, G) {
  if (kind == "rademacher") { B <- 2^G; sapply(0:(B - 1), function(b) ifelse(bitwAnd(b, 2^(0:(G - 1))) > 0, 1, -1)) }
  else { B <- 6^G; sapply(0:(B - 1), function(b) webb[(b %/% 6^(0:(G - 1))) %% 6 + 1]) }
}
ustates <- sort(unique(cl))
pvalue <- function(r, impose_null, V, ties = FALSE) {
  t0 <- tstat(d$y, r, r)
  if (impose_null) { R <- restricted(r); base <- R$fitted; u <- R$resid; center <- r }
  else { base <- fit0$fitted.values; u <- fit0$residuals; center <- bhat }
  ts <- apply(V, 2, function(v) tstat(base + u * v[match(cl, ustates)], r, center))
  if (ties) mean(abs(ts) >= abs(t0) - 1e-10 * max(1, abs(t0))) else mean(abs(ts) >= abs(t0) + 1e-10 * max(1, abs(t0)))
}
# CI by test inversion: same expansion + bisection as the TypeScript (p(r) > alpha inside)
ci <- function(impose_null, V, alpha = 0.05) {
  se <- abs(bhat / tstat(d$y, 0, 0))
  edge <- function(dir) {
    inside <- bhat; step <- se; out <- bhat + dir * step
    while (pvalue(out, impose_null, V) > alpha) { inside <- out; step <- 2 * step; out <- bhat + dir * step }
    while (abs(out - inside) > 1e-9 * max(1, se, abs(bhat))) {
      mid <- (inside + out) / 2
      if (pvalue(mid, impose_null, V) > alpha) inside <- mid else out <- mid
    }
    (inside + out) / 2
  }
  c(edge(-1), edge(1))
}
Vr <- draws("rademacher", G)
cases <- list()
for (imp in c(TRUE, FALSE)) {
  p <- pvalue(0, imp, Vr); pt <- pvalue(0, imp, Vr, ties = TRUE)
  ci_ <- ci(imp, Vr)
  cases[[length(cases) + 1]] <- sprintf('{"weights": "rademacher", "impose_null": %s, "reps": %d, "p": %.15g, "p_ties": %.15g, "ci_low": %.15g, "ci_high": %.15g}',
                                          tolower(imp), ncol(Vr), p, pt, ci_[1], ci_[2])
}
# Webb with 4 clusters (states 1-4 only): 6^4 = 1296 draws
sub <- d$state <= 4
d4 <- d[sub, ]
X4 <- model.matrix(~ treat + c1 + c2 + factor(unit) + factor(year), d4)
local({
  X <<- X4; dd <- d; d <<- d4; cl <<- d4$state; ustates <<- sort(unique(cl))
  fit0 <<- lm.fit(X, d$y); bhat <<- fit0$coefficients[["treat"]]
  Vw <- draws("webb", 4)
  for (imp in c(TRUE, FALSE)) {
    p <- pvalue(0, imp, Vw); pt <- pvalue(0, imp, Vw, ties = TRUE)
    cases[[length(cases) + 1]] <<- sprintf('{"weights": "webb", "subset_states_le": 4, "impose_null": %s, "reps": %d, "p": %.15g, "p_ties": %.15g}', tolower(imp), ncol(Vw), p, pt)
  }
})
writeLines(c("{", '  "source": "test/golden/wild-bootstrap/make.R (brute-force refit per enumerated draw, base R lm.fit)",',
             sprintf('  "bhat": %.15g,', coef(lm(y ~ treat + c1 + c2 + factor(unit) + factor(year), read.csv("test/golden/wild-bootstrap/data.csv")))[["treat"]]),
             '  "cases": [', paste0("    ", unlist(cases), collapse = ",\n"), "  ]", "}"),
           "test/golden/wild-bootstrap/golden.json")
