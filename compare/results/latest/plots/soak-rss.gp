set terminal pngcairo size 1000,900 noenhanced
set output 'soak-rss.png'
set grid
set key outside right top
set xlabel 'time (s)'
set yrange [0:*]
set multiplot layout 2,1 title 'soak: the random-mixed loop over time (one run per allocator)'
set ylabel 'RSS (MB)'
plot 'soak-glibc.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#1f77b4' title 'glibc', \
     'soak-glibc-tuned.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#7fb2e5' title 'glibc-tuned', \
     'soak-mimalloc.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#d62728' title 'mimalloc', \
     'soak-mimalloc-tuned.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#ff9896' title 'mimalloc-tuned', \
     'soak-jemalloc.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#2ca02c' title 'jemalloc', \
     'soak-jemalloc-tuned.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#98df8a' title 'jemalloc-tuned', \
     'soak-hakmem-fast.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#9467bd' title 'hakmem-fast', \
     'soak-hakmem-lean.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#e377c2' title 'hakmem-lean', \
     'soak-hakmem-lean-dontneed.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#8c564b' title 'hakmem-lean-dontneed', \
     'soak-tcmalloc.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#ff7f0e' title 'tcmalloc'
set ylabel 'RSS - LazyFree (MB)'
plot 'soak-glibc.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#1f77b4' title 'glibc', \
     'soak-glibc-tuned.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#7fb2e5' title 'glibc-tuned', \
     'soak-mimalloc.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#d62728' title 'mimalloc', \
     'soak-mimalloc-tuned.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#ff9896' title 'mimalloc-tuned', \
     'soak-jemalloc.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#2ca02c' title 'jemalloc', \
     'soak-jemalloc-tuned.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#98df8a' title 'jemalloc-tuned', \
     'soak-hakmem-fast.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#9467bd' title 'hakmem-fast', \
     'soak-hakmem-lean.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#e377c2' title 'hakmem-lean', \
     'soak-hakmem-lean-dontneed.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#8c564b' title 'hakmem-lean-dontneed', \
     'soak-tcmalloc.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#ff7f0e' title 'tcmalloc'
unset multiplot
