# Golden values for the fixed-effects regression core (stats/ols.ts, stats/vcov.ts, steps/estimate.ts).
# Run from the project root:  Rscript test/golden/twfe/make.R   → test/golden/twfe/golden.json
# Independent reference: lm() with explicit factor dummies (coefficients, residuals, rank) and
# sandwich::vcovCL / vcovHC for the meat; the small-sample factors are the documented convention:
#   iid:     vcov(lm) (σ² with N − rank)
#   hc1:     vcovHC(type = "HC1")                      = N/(N−K) · B M B,  K = lm rank
#   cluster: vcovCL(type = "HC0", cadjust = FALSE) × (N−1)/(N−K) × G/(G−1),
#            two-way: multi0 = FALSE, G = min(G_a, G_b)
#            K = rank of lm() without the dummies of fixed effects nested in a cluster variable.
# Singletons are dropped iteratively here in R (own code below) unless keep_singletons.
# _cons (reghdfe convention): intercept of lm((ỹ+ȳ) ~ (X̃+x̄)), ỹ, X̃ = residuals on the FE dummies.
suppressPackageStartupMessages({ library(sandwich); library(jsonlite) })

rd <- function(p) read.csv(p, stringsAsFactors = FALSE, check.names = FALSE, fileEncoding = "UTF-8-BOM")
synth  <- rd("test/fixtures/twfe-synth.csv")
mpdta  <- rd("../shared/data/mpdta/mpdta.csv")
mpdta$post <- as.numeric(mpdta$first.treat > 0 & mpdta$year >= mpdta$first.treat)
castle <- rd("../shared/data/bacondecomp-castle-divorce/castle.csv")
so2    <- rd("../shared/data/china-city-so2-2011-2019/panel_data_so2_new.csv")

drop_singletons <- function(d, fe) {
  if (length(fe) == 0) return(d)
  repeat {
    n0 <- nrow(d)
    for (f in fe) { tab <- table(d[[f]]); d <- d[d[[f]] %in% names(tab)[tab > 1], , drop = FALSE] }
    if (nrow(d) == n0) return(d)
  }
}

pf <- function(v) if (length(v)) paste0(".f_", v) else character(0)
nested_in <- function(d, f, cl) all(tapply(d[[cl]], d[[f]], function(v) length(unique(v))) == 1)

run_case <- function(name, data, dataset, derive, params) {
  y <- params$y; x <- c(params$treat, unlist(params$controls)); fe <- unlist(params$fe); cl <- unlist(params$cluster)
  w <- params$weights; vc <- if (is.null(params$vcov)) (if (length(cl)) "cluster" else "iid") else params$vcov
  ks <- isTRUE(params$keep_singletons)
  d <- data
  if (!is.null(params$where)) for (k in names(params$where)) {
    cond <- params$where[[k]]
    if (is.list(cond) && !is.null(cond$le)) d <- d[!is.na(d[[k]]) & d[[k]] <= cond$le, , drop = FALSE]
  }
  need <- unique(c(y, x, fe, cl, w))
  d <- d[complete.cases(d[, need, drop = FALSE]), , drop = FALSE]
  if (!is.null(w)) d <- d[d[[w]] > 0, , drop = FALSE]
  n_before <- nrow(d)
  if (!ks) d <- drop_singletons(d, fe)
  singletons <- n_before - nrow(d)
  for (f in c(fe, cl)) d[[paste0(".f_", f)]] <- factor(d[[f]])
  fe_terms <- pf(fe)
  wts <- if (is.null(w)) rep(1, nrow(d)) else d[[w]]
  d$.w <- wts
  rhs <- c(fe_terms, sprintf("`%s`", x))  # FE first: a regressor absorbed by the FE is the one aliased
  fit0 <- lm(as.formula(paste0("`", y, "` ~ ", paste(rhs, collapse = " + "))), data = d, weights = .w)
  cf0 <- coef(fit0)[x]
  names(cf0) <- x
  aliased <- x[is.na(cf0)]
  xk <- setdiff(x, aliased)
  rhs <- c(fe_terms, sprintf("`%s`", xk))
  fit <- lm(as.formula(paste0("`", y, "` ~ ", paste(rhs, collapse = " + "))), data = d, weights = .w)
  N <- nrow(d); Kfull <- fit$rank
  nested <- if (vc == "cluster") fe[sapply(fe, function(f) any(sapply(cl, function(c) nested_in(d, f, c))))] else character(0)
  nn <- setdiff(fe, nested)
  Kn <- lm(as.formula(paste0("`", y, "` ~ ", paste(c(sprintf("`%s`", xk), pf(nn)), collapse = " + "))), data = d, weights = .w)$rank
  K <- if (vc == "cluster") Kn else Kfull
  # demeaned data and the _cons regression
  dm <- function(v) if (length(fe)) resid(lm(as.formula(paste0("v ~ ", paste(fe_terms, collapse = " + "))), data = cbind(d, v = v), weights = .w)) else v - weighted.mean(v, wts)
  yt <- dm(d[[y]]); Xt <- sapply(xk, function(v) dm(d[[v]]))
  Xt <- matrix(Xt, nrow = nrow(d)); Xc <- sweep(Xt, 2, sapply(xk, function(v) weighted.mean(d[[v]], wts)), "+")
  yc <- yt + weighted.mean(d[[y]], wts)
  dd <- data.frame(yc = yc, Xc, .w = wts); names(dd) <- c("yc", paste0("v", seq_along(xk)), ".w")
  for (c in cl) dd[[paste0(".c_", c)]] <- d[[c]]
  fit2 <- lm(as.formula(paste0("yc ~ ", paste(paste0("v", seq_along(xk)), collapse = " + "))), data = dd, weights = .w)
  vfun <- function(f, use_k_of_fit) {
    if (vc == "iid") {
      s2 <- sum(wts * resid(f)^2) / (N - K)
      if (use_k_of_fit) return(vcov(f))
      return(s2 * summary(f)$cov.unscaled)
    }
    if (vc == "hc1") return(vcovHC(f, type = "HC0") * N / (N - K))
    G <- sapply(cl, function(c) length(unique(d[[c]])))
    Gm <- min(G)
    cform <- if (identical(f, fit2)) as.formula(paste0("~", paste(paste0(".c_", cl), collapse = "+"))) else as.formula(paste0("~", paste(paste0(".f_", cl), collapse = "+")))
    vcovCL(f, cluster = cform, type = "HC0", cadjust = FALSE, multi0 = FALSE) * (N - 1) / (N - K) * Gm / (Gm - 1)
  }
  V <- vfun(fit, TRUE)
  V2 <- vfun(fit2, FALSE)
  dfT <- if (vc == "cluster") min(sapply(cl, function(c) length(unique(d[[c]])))) - 1 else N - K
  b <- coef(fit)[xk]
  se <- sqrt(diag(V)[xk])
  cons <- coef(fit2)[["(Intercept)"]]; secons <- sqrt(V2["(Intercept)", "(Intercept)"])
  terms <- c(xk, "_cons"); est <- c(unname(b), cons); ses <- c(unname(se), secons)
  q <- qt(0.5 + 0.95 / 2, dfT)
  rss <- sum(wts * resid(fit)^2)
  tss <- sum(wts * (d[[y]] - weighted.mean(d[[y]], wts))^2)
  list(name = name, dataset = dataset, derive = derive, params = params, n = N, singletons = singletons,
       collinear = I(aliased), K = K, df = dfT, nested = nested,
       clusters = as.list(sapply(cl, function(c) length(unique(d[[c]])))),
       r2 = 1 - rss / tss, r2_within = 1 - rss / sum(wts * yt^2),
       coefficients = lapply(seq_along(terms), function(i) list(term = terms[i], estimate = est[i], se = ses[i],
         p = 2 * pt(-abs(est[i] / ses[i]), dfT), ci_low = est[i] - q * ses[i], ci_high = est[i] + q * ses[i])))
}

sx <- list(y = "y", treat = "d", controls = c("x1", "x2"))
cases <- list(
  run_case("synth_1fe_iid", synth, "synth", NULL, c(sx, list(fe = list("unit"), vcov = "iid"))),
  run_case("synth_2fe_hc1", synth, "synth", NULL, c(sx, list(fe = c("unit", "year"), vcov = "hc1"))),
  run_case("synth_2fe_cluster_unit", synth, "synth", NULL, c(sx, list(fe = c("unit", "year"), cluster = "unit"))),
  run_case("synth_2fe_cluster_state_nested", synth, "synth", NULL, c(sx, list(fe = c("unit", "year"), cluster = "state"))),
  run_case("synth_3fe_cluster_state", synth, "synth", NULL, c(sx, list(fe = c("unit", "year", "sector"), cluster = "state"))),
  run_case("synth_3fe_iid", synth, "synth", NULL, c(sx, list(fe = c("unit", "year", "sector"), vcov = "iid"))),
  run_case("synth_2fe_twoway", synth, "synth", NULL, c(sx, list(fe = c("unit", "year"), cluster = c("unit", "year")))),
  run_case("synth_collinear", synth, "synth", NULL, list(y = "y", treat = "d", controls = c("x1", "x2", "x3", "xinv"), fe = c("unit", "year"), cluster = "unit")),
  run_case("synth_weights", synth, "synth", NULL, c(sx, list(fe = c("unit", "year"), cluster = "unit", weights = "w"))),
  run_case("synth_keep_singletons_iid", synth, "synth", NULL, c(sx, list(fe = c("unit", "year"), vcov = "iid", keep_singletons = TRUE))),
  run_case("synth_nofe_hc1", synth, "synth", NULL, c(sx, list(fe = list(), vcov = "hc1"))),
  run_case("mpdta_balanced_cluster", mpdta, "mpdta", "post = first.treat > 0 & year >= first.treat",
           list(y = "lemp", treat = "post", controls = character(0), fe = c("countyreal", "year"), cluster = "countyreal")),
  run_case("castle_weighted_cluster", castle, "castle", NULL,
           list(y = "l_homicide", treat = "post", controls = c("l_police", "unemployrt", "l_income", "poverty", "l_exp_subsidy", "l_exp_pubwelfare"),
                fe = c("sid", "year"), cluster = "sid", weights = "popwt")),
  run_case("so2_cluster_province_nested", so2, "so2", NULL,
           list(y = "ln_OfficialSO2", treat = "Proportion_SecondaryIndustry", controls = c("gdp_percapita", "PopulationDensity", "Proportion_ThirdIndustry"),
                fe = c("city_code", "year"), cluster = "province_code")),
  run_case("so2_twoway_city_year", so2, "so2", NULL,
           list(y = "ln_OfficialSO2", treat = "Proportion_SecondaryIndustry", controls = c("gdp_percapita", "PopulationDensity"),
                fe = c("city_code", "year"), cluster = c("city_code", "year"), where = list(year = list(le = 2018))))
)
writeLines(toJSON(list(generated_by = "test/golden/twfe/make.R", R = R.version.string,
                       sandwich = as.character(packageVersion("sandwich")), cases = cases),
                  auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"),
           "test/golden/twfe/golden.json")
cat("wrote test/golden/twfe/golden.json with", length(cases), "cases\n")
