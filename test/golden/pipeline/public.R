# End-to-end golden values for pipelines/public-2011-2019.yaml (REAL public data: 296 cities ×
# 2011–2019, official industrial SO2), computed in R without the project's TypeScript.
#
# Run from the project root:  Rscript test/golden/pipeline/public.R   → test/golden/pipeline/public.json
# Reads ../shared/data/china-city-so2-2011-2019/panel_data_so2_new.csv in place (never copied).
# Checked by test/pipeline-vs-r.test.ts (skipped when that file is absent).
#
# What the pipeline does, rebuilt here (conventions as in pipeline.R, helpers in common.R):
# - ingest: UTF-8 with BOM; columns renamed so2_t = OfficialSO2, pgdp = gdp_percapita,
#   indus = Proportion_SecondaryIndustry; empty cells are missing (the file has no other marker).
# - clean: years 2011–2019; so2 = so2_t / 10000 (tonnes → 10,000 t); rows without so2 dropped.
# - merge-roster: the roster by own code (county-level zones ignored), the register by panel code.
# - baseline: so2 ~ did + pgdp + indus | city_code + year, CR1 by city (nested city FE not in K).
# - event study: base −1, window [−6, 3], endpoints binned; cities adopting in 2020 or 2022 are
#   treated units observed only before adoption (their rows get pre-period dummies), never-treated
#   cities are the controls.
suppressPackageStartupMessages({ library(sandwich); library(jsonlite) })
source("test/golden/pipeline/common.R")

f <- "../shared/data/china-city-so2-2011-2019/panel_data_so2_new.csv"
raw <- read.csv(f, stringsAsFactors = FALSE, check.names = FALSE, fileEncoding = "UTF-8-BOM", na.strings = c("", "NA"))
stopifnot(!anyDuplicated(raw[, c("city_code", "year")]))
panel <- data.frame(city_code = raw$city_code, year = raw$year, so2_t = raw$OfficialSO2,
                    pgdp = raw$gdp_percapita, indus = raw$Proportion_SecondaryIndustry)
rows_in <- nrow(panel)
panel <- panel[panel$year >= 2011 & panel$year <= 2019, ]
panel$so2 <- panel$so2_t / 10000
panel <- panel[!is.na(panel$so2), ]
panel <- with_adoption(attach_register(panel), adoption("ignore"))
rownames(panel) <- NULL

ctrl <- c("pgdp", "indus")
base <- fit_model(panel, "so2", c("did", ctrl))
out <- list(
  generated_by = "Rscript test/golden/pipeline/public.R",
  data = f, r_version = R.version.string,
  panel = list(rows_in = rows_in, rows = nrow(panel), cities = length(unique(panel$city_code)),
               treated_cities = length(unique(panel$city_code[panel$treat == 1])),
               adopt_counts = as.list(table(panel$adopt[!duplicated(panel$city_code)])),
               did_sum = sum(panel$did)),
  models = list(c(list(id = "baseline", spec = "so2 ~ did + pgdp + indus | city_code + year"), base$model)),
  event_study = event_study(panel, "so2", ctrl, bin = TRUE, lo = -6, hi = 3, base = -1))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "null"),
           "test/golden/pipeline/public.json")
cat("wrote test/golden/pipeline/public.json\n")
