# Data loaders shared by the golden scripts of the staggered-DID steps (sourced by
# test/golden/{sunab,did-imputation,bacon}/make.R; run those from the project root).
# - mpdta:  ../shared/data/mpdta/mpdta.csv (R package did's example; first.treat 0 = never treated)
# - castle: ../shared/data/bacondecomp-castle-divorce/castle.csv (bacondecomp's example; effyear NA =
#           never treated, recoded to 0 here because fixest::sunab drops rows with a missing cohort)
# - demo:   data/demo/city-panel.csv (SIMULATED) with the adoption year of data/pilot-zones.csv by
#           city code (county-level zones ignored), exactly as test/golden/pipeline/pipeline.R
#           (common.R: attach_register, adoption("ignore"), with_adoption); adopt NA → 0
suppressPackageStartupMessages({ library(jsonlite) })
shared <- function(p) file.path("..", "shared", "data", p)
load_mpdta <- function() {
  d <- read.csv(shared("mpdta/mpdta.csv"))
  d$D <- as.numeric(d$first.treat > 0 & d$year >= d$first.treat)
  d
}
load_castle <- function() {
  d <- read.csv(shared("bacondecomp-castle-divorce/castle.csv"))
  d$effyear[is.na(d$effyear)] <- 0
  d
}
load_demo <- function() {
  source("test/golden/pipeline/common.R", local = TRUE)
  panel <- rd("data/demo/city-panel.csv", skip = 1, na.strings = c("", "NA"))
  panel <- panel[panel$year >= 2005 & panel$year <= 2022, ]
  panel <- attach_register(panel)
  panel <- with_adoption(panel, adoption("ignore"))
  panel$adopt[is.na(panel$adopt)] <- 0
  rownames(panel) <- NULL
  panel
}
write_golden <- function(x, path) {
  writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE), path)
  cat("wrote", path, "\n")
}
# median wall time (seconds) of f() over `reps` runs, after one warm-up
time_it <- function(f, reps = 5) { f(); median(replicate(reps, system.time(f())[["elapsed"]])) }
