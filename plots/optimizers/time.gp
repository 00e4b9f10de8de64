# training time per epoch: CPU (solid), wall clock (dashed)
# written by bench plot; render with: gnuplot plots/optimizers/time.gp
# (the image is written next to this script; data and style are found relative to it)
bench_dir = ARG0
bench_i = strlen(bench_dir)
while (bench_i > 0 && bench_dir[bench_i:bench_i] ne '/') { bench_i = bench_i - 1 }
bench_dir = bench_i > 0 ? bench_dir[1:bench_i] : ''
bench_format = 'png'
bench_width = 1050
bench_height = 500
bench_footer = 'experiment optimizers | git 701cff0 | newest run 2026-12-07'
# plots/style.gp: the shared look of every figure `bench plot` writes.
#
# bench copies this file into every figure script it writes, after a few variables:
#   bench_format  'png' (default), 'svg' or 'pdf'
#   bench_width, bench_height   image size in pixels (default 800 x 500)
#   bench_footer  one line of provenance drawn at the bottom left (optional)
# A script loads no file but its own data, so no file planted beside a figure directory can
# run code when the figure is drawn. To restyle every figure, edit this file and rebuild (the
# program's built-in copy, harness/plot.c, must stay equal: tests/test_plot.c checks it).
# PNG uses the cairo terminal when this gnuplot has it, else the libgd png terminal.

if (!exists("bench_format")) bench_format = 'png'
if (!exists("bench_width")) bench_width = 800
if (!exists("bench_height")) bench_height = 500

# pdfcairo measures in inches: 100 pixels an inch keeps the proportions.
if (bench_format eq 'svg') {
    set terminal svg size bench_width, bench_height dynamic font 'Sans,12' background rgb 'white'
}
if (bench_format eq 'pdf') {
    set terminal pdfcairo size bench_width / 100.0, bench_height / 100.0 font 'Sans,7'
}
if (bench_format ne 'svg' && bench_format ne 'pdf') {
    if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
        set terminal pngcairo size bench_width, bench_height font 'Sans,10' background rgb 'white'
    } else {
        set terminal png size bench_width, bench_height background rgb 'white'
    }
}
# Titles and keys are run labels such as "eval_test_n=1000": no enhanced-text markup.
set termoption noenhanced

# Colour-blind-safe lines (Okabe-Ito); line style 1 is "train", 2 is "test" in Fig. 4.
set linetype 1 lc rgb '#0072B2' lw 2 pt 7 ps 0.6
set linetype 2 lc rgb '#D55E00' lw 2 pt 5 ps 0.6
set linetype 3 lc rgb '#009E73' lw 2 pt 9 ps 0.7
set linetype 4 lc rgb '#CC79A7' lw 2 pt 11 ps 0.7
set linetype 5 lc rgb '#E69F00' lw 2 pt 13 ps 0.7
set linetype 6 lc rgb '#56B4E9' lw 2 pt 7 ps 0.6
set linetype 7 lc rgb '#000000' lw 2 pt 5 ps 0.6
set linetype 8 lc rgb '#999999' lw 2 pt 9 ps 0.7
set linetype cycle 8

# The +/-1 sd band around a mean: translucent, no outline.
set style fill transparent solid 0.20 noborder

set border 3 lc rgb '#444444'
set tics out nomirror
set grid xtics ytics lc rgb '#e5e5e5' lw 1 dt 1
set key opaque box lc rgb '#cccccc' samplen 2 spacing 1.2

# Confusion matrices: white (0) to dark blue (largest count).
set palette defined (0 '#ffffff', 0.15 '#c6dbef', 0.5 '#4292c6', 1 '#08306b')

# Room for the footer under the x axis label.
set bmargin 5
if (exists("bench_footer")) {
    set label 1000 bench_footer at screen 0.01, screen 0.02 left font ',8' tc rgb '#666666'
}
set output bench_dir.'time.png'
set title 'training time per epoch: CPU (solid), wall clock (dashed)'."\n".'mean over seeds; CPU time summed over the run'."'".'s threads'."\n".'circled: a run'."'".'s epoch contended (its wall time is the machine'."'".'s load)'
set xrange [1:20]
set xtics 2
set xlabel 'epoch'
set ylabel 'seconds per epoch'
set key outside right top vertical
set yrange [0:*]
plot \
  bench_dir.'optimizer-sgd_bn-true.dat' using 1:13 with linespoints lt 1 dt 1 title 'optimizer=sgd bn=true'.' (CPU)', \
  bench_dir.'optimizer-sgd_bn-true.dat' using 1:11 with lines lt 1 dt 2 lw 1 title 'optimizer=sgd bn=true'.' (wall)', \
  bench_dir.'optimizer-sgd_bn-true.dat' using 1:($15 > 0 ? $11 : NaN) with points lt 1 pt 6 ps 2 notitle, \
  bench_dir.'optimizer-sgd_bn-false.dat' using 1:13 with linespoints lt 2 dt 1 title 'optimizer=sgd bn=false'.' (CPU)', \
  bench_dir.'optimizer-sgd_bn-false.dat' using 1:11 with lines lt 2 dt 2 lw 1 title 'optimizer=sgd bn=false'.' (wall)', \
  bench_dir.'optimizer-sgd_bn-false.dat' using 1:($15 > 0 ? $11 : NaN) with points lt 2 pt 6 ps 2 notitle, \
  bench_dir.'optimizer-momentum_bn-true.dat' using 1:13 with linespoints lt 3 dt 1 title 'optimizer=momentum bn=true'.' (CPU)', \
  bench_dir.'optimizer-momentum_bn-true.dat' using 1:11 with lines lt 3 dt 2 lw 1 title 'optimizer=momentum bn=true'.' (wall)', \
  bench_dir.'optimizer-momentum_bn-true.dat' using 1:($15 > 0 ? $11 : NaN) with points lt 3 pt 6 ps 2 notitle, \
  bench_dir.'optimizer-momentum_bn-false.dat' using 1:13 with linespoints lt 4 dt 1 title 'optimizer=momentum bn=false'.' (CPU)', \
  bench_dir.'optimizer-momentum_bn-false.dat' using 1:11 with lines lt 4 dt 2 lw 1 title 'optimizer=momentum bn=false'.' (wall)', \
  bench_dir.'optimizer-momentum_bn-false.dat' using 1:($15 > 0 ? $11 : NaN) with points lt 4 pt 6 ps 2 notitle, \
  bench_dir.'optimizer-adagrad_bn-true.dat' using 1:13 with linespoints lt 5 dt 1 title 'optimizer=adagrad bn=true'.' (CPU)', \
  bench_dir.'optimizer-adagrad_bn-true.dat' using 1:11 with lines lt 5 dt 2 lw 1 title 'optimizer=adagrad bn=true'.' (wall)', \
  bench_dir.'optimizer-adagrad_bn-true.dat' using 1:($15 > 0 ? $11 : NaN) with points lt 5 pt 6 ps 2 notitle, \
  bench_dir.'optimizer-adagrad_bn-false.dat' using 1:13 with linespoints lt 6 dt 1 title 'optimizer=adagrad bn=false'.' (CPU)', \
  bench_dir.'optimizer-adagrad_bn-false.dat' using 1:11 with lines lt 6 dt 2 lw 1 title 'optimizer=adagrad bn=false'.' (wall)', \
  bench_dir.'optimizer-adagrad_bn-false.dat' using 1:($15 > 0 ? $11 : NaN) with points lt 6 pt 6 ps 2 notitle, \
  bench_dir.'optimizer-adam_bn-true.dat' using 1:13 with linespoints lt 7 dt 1 title 'optimizer=adam bn=true'.' (CPU)', \
  bench_dir.'optimizer-adam_bn-true.dat' using 1:11 with lines lt 7 dt 2 lw 1 title 'optimizer=adam bn=true'.' (wall)', \
  bench_dir.'optimizer-adam_bn-true.dat' using 1:($15 > 0 ? $11 : NaN) with points lt 7 pt 6 ps 2 notitle, \
  bench_dir.'optimizer-adam_bn-false.dat' using 1:13 with linespoints lt 8 dt 1 title 'optimizer=adam bn=false'.' (CPU)', \
  bench_dir.'optimizer-adam_bn-false.dat' using 1:11 with lines lt 8 dt 2 lw 1 title 'optimizer=adam bn=false'.' (wall)', \
  bench_dir.'optimizer-adam_bn-false.dat' using 1:($15 > 0 ? $11 : NaN) with points lt 8 pt 6 ps 2 notitle
