set terminal pngcairo size 1000,900 noenhanced
set output 'timeline-burst-quiet-1m.png'
set grid
set key outside right top
set xlabel 'time since start (s): burst, free, then idle'
set yrange [0:*]
set multiplot layout 2,1 title 'burst-quiet-1m: memory through burst, free and idle (first run)'
set ylabel 'RSS - LazyFree (MB)'
plot 'timeline-burst-quiet-1m-glibc.dat' using 1:3 with lines lw 2 lc rgb '#1f77b4' title 'glibc', \
     'timeline-burst-quiet-1m-glibc-tuned.dat' using 1:3 with lines lw 2 lc rgb '#7fb2e5' title 'glibc-tuned', \
     'timeline-burst-quiet-1m-mimalloc.dat' using 1:3 with lines lw 2 lc rgb '#d62728' title 'mimalloc', \
     'timeline-burst-quiet-1m-mimalloc-tuned.dat' using 1:3 with lines lw 2 lc rgb '#ff9896' title 'mimalloc-tuned', \
     'timeline-burst-quiet-1m-jemalloc.dat' using 1:3 with lines lw 2 lc rgb '#2ca02c' title 'jemalloc', \
     'timeline-burst-quiet-1m-jemalloc-tuned.dat' using 1:3 with lines lw 2 lc rgb '#98df8a' title 'jemalloc-tuned', \
     'timeline-burst-quiet-1m-hakmem-fast.dat' using 1:3 with lines lw 2 lc rgb '#9467bd' title 'hakmem-fast', \
     'timeline-burst-quiet-1m-hakmem-lean.dat' using 1:3 with lines lw 2 lc rgb '#e377c2' title 'hakmem-lean', \
     'timeline-burst-quiet-1m-hakmem-lean-dontneed.dat' using 1:3 with lines lw 2 lc rgb '#8c564b' title 'hakmem-lean-dontneed', \
     'timeline-burst-quiet-1m-tcmalloc.dat' using 1:3 with lines lw 2 lc rgb '#ff7f0e' title 'tcmalloc', \
     'timeline-burst-quiet-1m-jemalloc-decay0.dat' using 1:3 with lines lw 2 lc rgb '#17becf' title 'jemalloc-decay0'
set ylabel 'RSS (MB)'
plot 'timeline-burst-quiet-1m-glibc.dat' using 1:2 with lines lw 2 lc rgb '#1f77b4' title 'glibc', \
     'timeline-burst-quiet-1m-glibc-tuned.dat' using 1:2 with lines lw 2 lc rgb '#7fb2e5' title 'glibc-tuned', \
     'timeline-burst-quiet-1m-mimalloc.dat' using 1:2 with lines lw 2 lc rgb '#d62728' title 'mimalloc', \
     'timeline-burst-quiet-1m-mimalloc-tuned.dat' using 1:2 with lines lw 2 lc rgb '#ff9896' title 'mimalloc-tuned', \
     'timeline-burst-quiet-1m-jemalloc.dat' using 1:2 with lines lw 2 lc rgb '#2ca02c' title 'jemalloc', \
     'timeline-burst-quiet-1m-jemalloc-tuned.dat' using 1:2 with lines lw 2 lc rgb '#98df8a' title 'jemalloc-tuned', \
     'timeline-burst-quiet-1m-hakmem-fast.dat' using 1:2 with lines lw 2 lc rgb '#9467bd' title 'hakmem-fast', \
     'timeline-burst-quiet-1m-hakmem-lean.dat' using 1:2 with lines lw 2 lc rgb '#e377c2' title 'hakmem-lean', \
     'timeline-burst-quiet-1m-hakmem-lean-dontneed.dat' using 1:2 with lines lw 2 lc rgb '#8c564b' title 'hakmem-lean-dontneed', \
     'timeline-burst-quiet-1m-tcmalloc.dat' using 1:2 with lines lw 2 lc rgb '#ff7f0e' title 'tcmalloc', \
     'timeline-burst-quiet-1m-jemalloc-decay0.dat' using 1:2 with lines lw 2 lc rgb '#17becf' title 'jemalloc-decay0'
unset multiplot
