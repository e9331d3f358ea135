# Manual check (not run by CI, which has no R): the published CSV tables read with R's defaults.
# Usage, after `npm start`:  Rscript test/golden/tables/read-tables.R
# Checks: every results/table*.csv reads with read.csv() defaults into a rectangular data frame with
# no note rows; every results/table*.tidy.csv has broom::tidy's columns with numeric estimates,
# standard errors, p-values and integer nobs.
files <- Sys.glob("results/table*.csv")
tables <- files[!grepl("\\.(tidy|comparison|table)\\.csv$", files)]
tidy <- files[grepl("\\.tidy\\.csv$", files)]
stopifnot(length(tables) > 0, length(tidy) > 0)
for (f in tables) {
  x <- read.csv(f)
  stopifnot(nrow(x) > 1, !any(grepl("^Note", x[[1]])))
  cat(sprintf("%-28s %3d x %d\n", f, nrow(x), ncol(x)))
}
need <- c("term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high", "nobs", "r2", "r2_within", "vcov", "clusters")
for (f in tidy) {
  t <- read.csv(f)
  stopifnot(all(need %in% names(t)), is.numeric(t$estimate), is.numeric(t$std_error), is.numeric(t$p_value), is.integer(t$nobs))
  cat(sprintf("%-28s %3d terms, numeric columns numeric\n", f, nrow(t)))
}
cat("ok\n")
