set terminal pngcairo size 1000,650 noenhanced
set output 'scatter-realloc-grow.png'
set title 'realloc-grow: speed vs memory (medians; up and left is better)'
set grid
set key outside right top
set xlabel 'peak RSS (MB)'
set ylabel 'Mops/s'
set xrange [0:*]
set yrange [0:*]
set offsets 0, graph 0.1, graph 0.1, 0
names = 'glibc glibc-tuned mimalloc mimalloc-tuned jemalloc jemalloc-tuned hakmem-fast hakmem-lean hakmem-lean-dontneed tcmalloc'
colours = '#1f77b4 #7fb2e5 #d62728 #ff9896 #2ca02c #98df8a #9467bd #e377c2 #8c564b #ff7f0e'
plot for [i=1:words(names)] 'scatter-realloc-grow.dat' index (i-1) using 2:3 with points pt 7 ps 2 lc rgb word(colours, i) title word(names, i), \
     'scatter-realloc-grow.dat' using 2:3:1 with labels offset char 0,1 notitle
