# Fig. 4: train and test accuracy per epoch, epochs=16
# written by bench plot; render with: gnuplot plots/select995_epochs/fig4_epochs-16.gp
# (the image is written next to this script; data and style are found relative to it)
bench_dir = ARG0
bench_i = strlen(bench_dir)
while (bench_i > 0 && bench_dir[bench_i:bench_i] ne '/') { bench_i = bench_i - 1 }
bench_dir = bench_i > 0 ? bench_dir[1:bench_i] : ''
bench_format = 'png'
bench_width = 800
bench_height = 500
bench_footer = 'experiment ''select995_epochs'' | git 5e69d3f | newest run 2026-11-30'
load bench_dir.'../style.gp'
set output bench_dir.'fig4_epochs-16.png'
dat = bench_dir.'epochs-16.dat'
set title 'Fig. 4: train and test accuracy per epoch, epochs=16'."\n".'1 run'
set xrange [1:16]
set xtics 2
set xlabel 'epoch'
set ylabel 'accuracy'
set yrange [*:1]
set key bottom right
plot \
  dat using 1:3 with linespoints lt 1 title 'train', \
  dat using 1:5 with linespoints lt 2 title 'test'
