set terminal pngcairo size 900,560 noenhanced
set output '/work/main/contrib/bench/results/throughput.png'
set title 'faasflow-bench stream: throughput vs write size (medians)'
set logscale x 2
set xtics ('64 B' 64, '4 KiB' 4096, '64 KiB' 65536, '1 MiB' 1048576, '16 MiB' 16777216, '256 MiB' 268435456)
set xlabel 'write size'
set ylabel 'GB/s'
set key top left
set grid
set datafile missing '?'
plot '/work/main/contrib/bench/results/plot.dat' using 1:2 with linespoints lw 2 title 'tcp', '/work/main/contrib/bench/results/plot.dat' using 1:3 with linespoints lw 2 title 'shim', '/work/main/contrib/bench/results/plot.dat' using 1:4 with linespoints lw 2 title 'unix', '/work/main/contrib/bench/results/plot.dat' using 1:5 with linespoints lw 2 title 'ring', '/work/main/contrib/bench/results/plot.dat' using 1:6 with linespoints lw 2 title 'redis', '/work/main/contrib/bench/results/plot.dat' using 1:7 with linespoints lw 2 title 'shim, zero-copy API'
