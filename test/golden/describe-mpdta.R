# Golden values for test/steps/describe.test.ts: descriptive statistics of ../shared/data/mpdta/mpdta.csv
# (rows with year <= 2005), computed with base R: sd() divides by n - 1; quantile(type = 7) is R's default.
# Run from the project root:  Rscript test/golden/describe-mpdta.R > test/golden/describe-mpdta.json
d <- read.csv("../shared/data/mpdta/mpdta.csv")
d <- d[d$year <= 2005, ]
vars <- c("lemp", "lpop", "treat", "first.treat")
out <- lapply(vars, function(v) {
  x <- d[[v]]; x <- x[!is.na(x)]
  q <- quantile(x, c(0.25, 0.5, 0.75), type = 7, names = FALSE)
  sprintf('"%s": {"n": %d, "mean": %.17g, "sd": %.17g, "min": %.17g, "p25": %.17g, "median": %.17g, "p75": %.17g, "max": %.17g}',
          v, length(x), mean(x), sd(x), min(x), q[1], q[2], q[3], max(x))
})
cat("{\n  \"rows\": ", nrow(d), ",\n  ", paste(out, collapse = ",\n  "), "\n}\n", sep = "")
