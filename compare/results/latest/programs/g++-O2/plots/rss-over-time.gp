set terminal pngcairo size 1000,900 noenhanced
set output 'rss-over-time.png'
set grid
set key outside right top
set xlabel 'time since start (s)'
set yrange [0:*]
set multiplot layout 2,1 title 'g++-O2: memory of the process tree over time (first run)'
set ylabel 'RSS (MB)'
plot 'rss-over-time-glibc.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#1f77b4' title 'glibc', \
     'rss-over-time-glibc-tuned.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#7fb2e5' title 'glibc-tuned', \
     'rss-over-time-mimalloc.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#d62728' title 'mimalloc', \
     'rss-over-time-mimalloc-tuned.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#ff9896' title 'mimalloc-tuned', \
     'rss-over-time-jemalloc.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#2ca02c' title 'jemalloc', \
     'rss-over-time-jemalloc-tuned.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#98df8a' title 'jemalloc-tuned', \
     'rss-over-time-hakmem-fast.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#9467bd' title 'hakmem-fast', \
     'rss-over-time-hakmem-lean.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#e377c2' title 'hakmem-lean', \
     'rss-over-time-hakmem-lean-dontneed.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#8c564b' title 'hakmem-lean-dontneed', \
     'rss-over-time-tcmalloc.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#ff7f0e' title 'tcmalloc'
set ylabel 'RSS - LazyFree (MB)'
plot 'rss-over-time-glibc.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#1f77b4' title 'glibc', \
     'rss-over-time-glibc-tuned.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#7fb2e5' title 'glibc-tuned', \
     'rss-over-time-mimalloc.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#d62728' title 'mimalloc', \
     'rss-over-time-mimalloc-tuned.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#ff9896' title 'mimalloc-tuned', \
     'rss-over-time-jemalloc.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#2ca02c' title 'jemalloc', \
     'rss-over-time-jemalloc-tuned.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#98df8a' title 'jemalloc-tuned', \
     'rss-over-time-hakmem-fast.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#9467bd' title 'hakmem-fast', \
     'rss-over-time-hakmem-lean.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#e377c2' title 'hakmem-lean', \
     'rss-over-time-hakmem-lean-dontneed.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#8c564b' title 'hakmem-lean-dontneed', \
     'rss-over-time-tcmalloc.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.4 lc rgb '#ff7f0e' title 'tcmalloc'
unset multiplot
