# confusion matrix of the last epoch
# written by bench plot; render with: gnuplot plots/target995_wd/confusion.gp
# (the image is written next to this script; data and style are found relative to it)
bench_dir = ARG0
bench_i = strlen(bench_dir)
while (bench_i > 0 && bench_dir[bench_i:bench_i] ne '/') { bench_i = bench_i - 1 }
bench_dir = bench_i > 0 ? bench_dir[1:bench_i] : ''
bench_format = 'png'
bench_width = 700
bench_height = 640
bench_footer = 'experiment ''target995_wd'' | git 26ec847 | newest run 2026-11-30'
load bench_dir.'../style.gp'
set output bench_dir.'confusion.png'
dat = bench_dir.'confusion_all.dat'
set title 'confusion matrix of the last epoch'."\n".'counts summed over 3 runs'
stats dat matrix using 3 nooutput
bench_max = STATS_max > 0 ? STATS_max : 1
set xrange [-0.5:9.5]
set yrange [9.5:-0.5]
set xtics 1
set ytics 1
unset grid
set tics scale 0
set xlabel 'predicted class'
set ylabel 'true class'
set cblabel 'count'
set cbrange [0:bench_max]
set size ratio -1
unset key
plot dat matrix with image, \
  dat matrix using 1:2:(sprintf('%d', $3)):($3 > bench_max / 2 ? 0xffffff : 0x000000) with labels tc rgb variable font ',8'
