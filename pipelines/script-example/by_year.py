"""Mean SO2 by year of a city panel (CSV with columns year, so2; empty so2 = missing).

    python3 by_year.py PANEL.csv MEANS.csv

Standard library only, so it runs wherever python3 does. Prints one progress line per 1,000 rows
(the `script` step passes printed lines through as info messages and keeps them in the node's log).
"""
import csv
import sys
from collections import defaultdict

panel, out = sys.argv[1], sys.argv[2]
total = defaultdict(float)
count = defaultdict(int)
with open(panel, newline='') as f:
    for i, row in enumerate(csv.DictReader(f), 1):
        if row['so2'] != '':
            total[int(float(row['year']))] += float(row['so2'])
            count[int(float(row['year']))] += 1
        if i % 1000 == 0:
            print(f'{i} rows read', flush=True)
with open(out, 'w', newline='') as f:
    w = csv.writer(f)
    w.writerow(['year', 'mean_so2', 'cities'])
    for year in sorted(total):
        w.writerow([year, round(total[year] / count[year], 6), count[year]])
print(f'{len(total)} years written')
