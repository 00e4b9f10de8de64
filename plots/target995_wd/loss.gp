# training loss per epoch
# written by bench plot; render with: gnuplot plots/target995_wd/loss.gp
# (the image is written next to this script; data and style are found relative to it)
bench_dir = ARG0
bench_i = strlen(bench_dir)
while (bench_i > 0 && bench_dir[bench_i:bench_i] ne '/') { bench_i = bench_i - 1 }
bench_dir = bench_i > 0 ? bench_dir[1:bench_i] : ''
bench_format = 'png'
bench_width = 800
bench_height = 500
bench_footer = 'experiment ''target995_wd'' | git 26ec847 | newest run 2026-11-30'
load bench_dir.'../style.gp'
set output bench_dir.'loss.png'
set title 'training loss per epoch'."\n".'mean over seeds'
set xrange [1:12]
set xtics 2
set xlabel 'epoch'
set ylabel 'training loss (cross-entropy)'
set key top right
set logscale y
plot \
  bench_dir.'all.dat' using 1:7 with linespoints lt 1 dt 1 title 'all runs'
