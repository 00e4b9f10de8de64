# test accuracy per epoch, batch norm on vs off
# written by bench plot; render with: gnuplot plots/optimizers/bn_optimizer-sgd.gp
# (the image is written next to this script; data and style are found relative to it)
bench_dir = ARG0
bench_i = strlen(bench_dir)
while (bench_i > 0 && bench_dir[bench_i:bench_i] ne '/') { bench_i = bench_i - 1 }
bench_dir = bench_i > 0 ? bench_dir[1:bench_i] : ''
bench_format = 'png'
bench_width = 800
bench_height = 500
bench_footer = 'experiment ''optimizers'' | git 5bb52f4 | newest run 2026-11-30'
load bench_dir.'../style.gp'
set output bench_dir.'bn_optimizer-sgd.png'
set title 'test accuracy per epoch, batch norm on vs off'."\n".'optimizer=sgd; mean over seeds'
set xrange [1:20]
set xtics 2
set xlabel 'epoch'
set ylabel 'test accuracy'
set key bottom right
plot \
  bench_dir.'optimizer-sgd_bn-on.dat' using 1:5 with linespoints lt 1 dt 1 title 'BN on', \
  bench_dir.'optimizer-sgd_bn-off.dat' using 1:5 with linespoints lt 2 dt 1 title 'BN off'
