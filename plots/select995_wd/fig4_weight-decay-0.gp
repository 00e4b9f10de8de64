# Fig. 4: train and test accuracy per epoch, weight_decay=0
# written by bench plot; render with: gnuplot plots/select995_wd/fig4_weight-decay-0.gp
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
set output bench_dir.'fig4_weight-decay-0.png'
dat = bench_dir.'weight-decay-0.dat'
set title 'Fig. 4: train and test accuracy per epoch, weight_decay=0'."\n".'mean over 2 seeds, band = +/-1 sd'
set xrange [1:12]
set xtics 2
set xlabel 'epoch'
set ylabel 'accuracy'
set yrange [*:1]
set key bottom right
plot \
  dat using 1:($3-$4):($3+$4) with filledcurves lt 1 notitle, \
  dat using 1:($5-$6):($5+$6) with filledcurves lt 2 notitle, \
  dat using 1:3 with linespoints lt 1 title 'train', \
  dat using 1:5 with linespoints lt 2 title 'test'
