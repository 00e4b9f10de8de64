# training time per epoch
# written by bench plot; render with: gnuplot plots/select995_wd/time.gp
# (the image is written next to this script; data and style are found relative to it)
bench_dir = ARG0
bench_i = strlen(bench_dir)
while (bench_i > 0 && bench_dir[bench_i:bench_i] ne '/') { bench_i = bench_i - 1 }
bench_dir = bench_i > 0 ? bench_dir[1:bench_i] : ''
bench_format = 'png'
bench_width = 800
bench_height = 500
bench_footer = 'experiment ''select995_wd'' | git ca69948 | newest run 2026-11-30'
load bench_dir.'../style.gp'
set output bench_dir.'time.png'
set title 'training time per epoch'."\n".'mean over seeds'
set xrange [1:12]
set xtics 2
set xlabel 'epoch'
set ylabel 'seconds per epoch (wall clock)'
set key bottom right
set yrange [0:*]
plot \
  bench_dir.'weight-decay-0.dat' using 1:11 with linespoints lt 1 dt 1 title 'weight_decay=0', \
  bench_dir.'weight-decay-0.0005.dat' using 1:11 with linespoints lt 2 dt 1 title 'weight_decay=0.0005'
