# training loss per epoch
# written by bench plot; render with: gnuplot plots/optimizers/loss.gp
# (the image is written next to this script; data and style are found relative to it)
bench_dir = ARG0
bench_i = strlen(bench_dir)
while (bench_i > 0 && bench_dir[bench_i:bench_i] ne '/') { bench_i = bench_i - 1 }
bench_dir = bench_i > 0 ? bench_dir[1:bench_i] : ''
bench_format = 'png'
bench_width = 1050
bench_height = 500
bench_footer = 'experiment ''optimizers'' | git 5bb52f4 | newest run 2026-11-30'
load bench_dir.'../style.gp'
set output bench_dir.'loss.png'
set title 'training loss per epoch'."\n".'mean over seeds'
set xrange [1:20]
set xtics 2
set xlabel 'epoch'
set ylabel 'training loss (cross-entropy)'
set key outside right top vertical
set logscale y
plot \
  bench_dir.'optimizer-momentum_bn-on.dat' using 1:7 with linespoints lt 1 dt 1 title 'optimizer=momentum bn=on', \
  bench_dir.'optimizer-sgd_bn-on.dat' using 1:7 with linespoints lt 2 dt 1 title 'optimizer=sgd bn=on', \
  bench_dir.'optimizer-sgd_bn-off.dat' using 1:7 with linespoints lt 3 dt 1 title 'optimizer=sgd bn=off', \
  bench_dir.'optimizer-momentum_bn-off.dat' using 1:7 with linespoints lt 4 dt 1 title 'optimizer=momentum bn=off', \
  bench_dir.'optimizer-adagrad_bn-on.dat' using 1:7 with linespoints lt 5 dt 1 title 'optimizer=adagrad bn=on', \
  bench_dir.'optimizer-adagrad_bn-off.dat' using 1:7 with linespoints lt 6 dt 1 title 'optimizer=adagrad bn=off', \
  bench_dir.'optimizer-adam_bn-on.dat' using 1:7 with linespoints lt 7 dt 1 title 'optimizer=adam bn=on', \
  bench_dir.'optimizer-adam_bn-off.dat' using 1:7 with linespoints lt 8 dt 1 title 'optimizer=adam bn=off'
