# End-to-end golden values for pipelines/real-2006-2018.yaml (REAL public data: 287 prefecture-level
# cities + 4 municipalities, 2006–2018, 4 of the paper's 5 controls), computed in base R + sandwich
# without the project's TypeScript: this script reads the same CSVs, joins them, derives the
# variables, applies the 桂林 fix, merges the roster and estimates every model of the pipeline.
#
# Run from the project root:  Rscript test/golden/pipeline/real.R   → test/golden/pipeline/real.json
# Reads ../shared/data in place (never copied). Checked by test/pipeline-real-vs-r.test.ts (skipped
# when ../shared/data is absent). Helpers (roster/register merge, fit_model, event_study): common.R.
#
# What the pipeline does, rebuilt here:
# - the frame: city_loans_deposits_gdp_2003_2023.csv (300 units × 2003–2023; gb2260_code → city_code),
#   left-joined 1:1 on (city_code, year) with: the pollution file (so2_t, pop_total_10k,
#   pop_urban_10k, so2_nonint_flag); the HaofeiQin panel (OfficialSO2 → so2_t_qin, its 450300/2016
#   cell corrected 6146 → 16146, municipality codes 110000… → 110100…); the industry-structure file
#   (indus = share_secondary × 100, gdp_ind = gdp_100m_yuan × 10000); resident population; CEADs CO2
#   (rows without a code dropped).
# - coalesce (first non-missing): so2_t ← so2_t | so2_t_qin; gdp ← gdp_10k_yuan | gdp_ind;
#   pop ← pop_resident_10k | pop_total_10k.
# - clean: years 2006–2018; so2 = so2_t / 1e4; pgdp = gdp / pop / 1e4; urb = pop_urban / pop_total;
#   fin = loans / gdp; co2 = co2_ceads_mt × 100; large = pop_urban_10k >= 100; imputed = the SO2
#   flag (missing → 0); keep the pollution file's units (flag present) and the 4 municipalities;
#   drop 三沙 460300.
# - merge-roster (county_zones: ignore), then the models; a regressor that is constant in a node's
#   sample (by_size[0]: no pilot city is small) is dropped, as the engine drops collinear regressors.
suppressPackageStartupMessages({ library(sandwich); library(jsonlite) })
source("test/golden/pipeline/common.R")

D <- "../shared/data"
rdc <- function(rel) read.csv(file.path(D, rel), stringsAsFactors = FALSE, check.names = FALSE,
                              fileEncoding = "UTF-8-BOM", na.strings = c("", "NA"))
key <- function(d) sprintf("%.0f %.0f", d$city_code, d$year)

loans <- rdc("china-city-loans-gdp-2000-2023/city_loans_deposits_gdp_2003_2023.csv")
loans <- data.frame(city_code = loans$gb2260_code, year = loans$year,
                    gdp_10k_yuan = loans$gdp_10k_yuan, loans = loans$loans_yearend_10k_yuan)
ind <- rdc("china-city-loans-gdp-2000-2023/city_gdp_industry_structure_2000_2023.csv")
ind <- data.frame(city_code = ind$gb2260_code, year = ind$year,
                  indus = ind$share_secondary * 100, gdp_ind = ind$gdp_100m_yuan * 10000)
pop <- rdc("china-city-loans-gdp-2000-2023/city_resident_pop_area_1998_2024.csv")
pop <- data.frame(city_code = pop$gb2260_code, year = pop$year, pop_resident_10k = pop$pop_resident_10k)
ceads <- rdc("china-city-loans-gdp-2000-2023/city_co2_ceads_1997_2019.csv")
ceads_rows <- nrow(ceads)
ceads <- ceads[!is.na(ceads$gb2260_code), ]
ceads <- data.frame(city_code = ceads$gb2260_code, year = ceads$year, co2_ceads_mt = ceads$co2_ceads_mt)
pol <- rdc("china-city-pollution-2006-2018/city_pollution_pop_2006_2018.csv")
pol <- data.frame(city_code = pol$gb2260_code, year = pol$year, so2_t = pol$so2_t,
                  pop_total_10k = pol$pop_total_10k, pop_urban_10k = pol$pop_urban_10k,
                  so2_nonint_flag = pol$so2_nonint_flag)
qin <- rdc("china-city-so2-2011-2019/panel_data_so2_new.csv")
qin <- data.frame(city_code = qin$city_code, year = qin$year, so2_t_qin = qin$OfficialSO2)
# the fix: 桂林 2016 (the cell must hold 6146: a stale fix is an error)
fx <- which(qin$city_code == 450300 & qin$year == 2016)
stopifnot(length(fx) == 1, qin$so2_t_qin[fx] == 6146)
qin$so2_t_qin[fx] <- 16146
muni <- qin$city_code %in% c(110000, 120000, 310000, 500000)
qin$city_code[muni] <- qin$city_code[muni] + 100

# left joins, 1:1 (keys unique on both sides), with match counts
sources <- list(pol, qin, ind, pop, ceads)
panel <- loans
matches <- list()
for (s in sources) {
  stopifnot(!anyDuplicated(key(panel)), !anyDuplicated(key(s)))
  m <- match(key(panel), key(s))
  matches[[length(matches) + 1]] <- list(matched_left = sum(!is.na(m)), only_left = sum(is.na(m)),
                                         only_right = sum(!(key(s) %in% key(panel))), rows_out = nrow(panel))
  for (col in setdiff(names(s), c("city_code", "year"))) panel[[col]] <- s[[col]][m]
}
coalesce <- function(a, b) ifelse(is.na(a), b, a)
co_report <- function(a, b) list(first = sum(!is.na(a)), second = sum(is.na(a) & !is.na(b)), missing = sum(is.na(a) & is.na(b)),
                                 disagreements = sum(!is.na(a) & !is.na(b) & a != b),
                                 over_1pct = sum(!is.na(a) & !is.na(b) & abs(a - b) / pmax(abs(a), abs(b)) > 0.01))
coalesced <- list(so2_t = co_report(panel$so2_t, panel$so2_t_qin),
                  gdp_10k = co_report(panel$gdp_10k_yuan, panel$gdp_ind),
                  pop_10k = co_report(panel$pop_resident_10k, panel$pop_total_10k))
panel$so2_t <- coalesce(panel$so2_t, panel$so2_t_qin)
panel$gdp <- coalesce(panel$gdp_10k_yuan, panel$gdp_ind)
panel$pop <- coalesce(panel$pop_resident_10k, panel$pop_total_10k)

# clean
panel <- panel[panel$year >= 2006 & panel$year <= 2018, ]
panel$so2 <- panel$so2_t / 10000
panel$pgdp <- panel$gdp / panel$pop / 10000
panel$urb <- panel$pop_urban_10k / panel$pop_total_10k
panel$fin <- panel$loans / panel$gdp
panel$co2 <- panel$co2_ceads_mt * 100
panel$large <- as.numeric(panel$pop_urban_10k >= 100)
panel$imputed <- ifelse(is.na(panel$so2_nonint_flag), 0, panel$so2_nonint_flag)
keep <- !is.na(panel$so2_nonint_flag) | panel$city_code %in% c(110100, 120100, 310100, 500100)
panel <- panel[keep & panel$city_code != 460300, ]
panel <- with_adoption(attach_register(panel), adoption("ignore"))
panel$province_code <- reg$province_code[match(panel$unit, reg$code)]
rownames(panel) <- NULL

# a model node: where/exclude already applied to d; regressors constant in the estimation sample dropped
fit_node <- function(id, d, y, x, fe = c("city_code", "year")) {
  dd <- drop_singletons(d[complete.cases(d[, c(y, x, fe, "city_code")]), , drop = FALSE], fe)
  x <- x[vapply(x, function(v) length(unique(dd[[v]])) > 1, TRUE)]
  r <- fit_model(d, y, x, fe = fe)
  c(list(id = id, spec = paste(y, "~", paste(x, collapse = " + "), "|", paste(fe, collapse = " + "))), r$model)
}
ctrl <- c("pgdp", "indus", "urb", "fin")
X <- c("did", ctrl)
models <- list(
  fit_node("t3_did_only", panel, "so2", "did"),
  fit_node("baseline", panel, "so2", X),
  fit_node("baseline_province_fe", panel, "so2", X, fe = c("province_code", "year")),
  fit_node("co2", panel, "co2", X),
  fit_node("no_municipalities", panel[panel$municipality != 1, ], "so2", X),
  fit_node("no_imputed", panel[panel$imputed != 1, ], "so2", X),
  fit_node("by_resource[1]", panel[panel$resource_based == 1, ], "so2", X),
  fit_node("by_resource[0]", panel[panel$resource_based == 0, ], "so2", X))
for (r in c("east", "central", "west", "northeast"))
  models[[length(models) + 1]] <- fit_node(sprintf("by_region[%s]", r), panel[panel$region == r, ], "so2", X)
for (l in c(1, 0))
  models[[length(models) + 1]] <- fit_node(sprintf("by_size[%d]", l), panel[!is.na(panel$large) & panel$large == l, ], "so2", X)

# Table 2 (describe): n, mean, sd (n − 1), min, median, max over the non-missing values
table2 <- lapply(c("so2", "did", "pgdp", "indus", "urb", "fin"), function(v) {
  x <- panel[[v]]; x <- x[!is.na(x)]
  list(term = v, n = length(x), mean = mean(x), sd = sd(x), min = min(x), median = median(x), max = max(x))
})

out <- list(
  generated_by = "Rscript test/golden/pipeline/real.R",
  data = D, r_version = R.version.string,
  join = list(rows = nrow(loans), ceads_rows_without_code = ceads_rows - nrow(ceads) - 0L, matches = matches, coalesce = coalesced),
  panel = list(rows = nrow(panel), cities = length(unique(panel$city_code)),
               treated_cities = length(unique(panel$city_code[panel$treat == 1])),
               adopt_counts = as.list(table(panel$adopt[!duplicated(panel$city_code)])),
               did_sum = sum(panel$did),
               large_cities = length(unique(panel$city_code[!is.na(panel$large) & panel$large == 1])),
               guilin_2016_so2 = panel$so2[panel$city_code == 450300 & panel$year == 2016]),
  table2 = table2,
  models = models,
  event_study = event_study(panel, "so2", ctrl, bin = TRUE, lo = -10, hi = 3, base = -10))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "null"),
           "test/golden/pipeline/real.json")
cat("wrote test/golden/pipeline/real.json\n")
