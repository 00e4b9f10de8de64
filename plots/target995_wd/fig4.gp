# train and test accuracy per epoch: model ji2018 on mnist
# written by bench plot; render with: gnuplot plots/target995_wd/fig4.gp
# (the image is written next to this script; data and style are found relative to it)
bench_dir = ARG0
bench_i = strlen(bench_dir)
while (bench_i > 0 && bench_dir[bench_i:bench_i] ne '/') { bench_i = bench_i - 1 }
bench_dir = bench_i > 0 ? bench_dir[1:bench_i] : ''
bench_format = 'png'
bench_width = 800
bench_height = 500
bench_footer = 'experiment target995_wd | git 701cff0 | newest run 2026-12-08'
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
set output bench_dir.'fig4.png'
dat = bench_dir.'all.dat'
set title 'train and test accuracy per epoch: model ji2018 on mnist'."\n".'mean over 3 seeds, band = +/-1 sd'
set xrange [1:12]
set xtics 2
set xlabel 'epoch'
set ylabel 'accuracy'
set yrange [*:1]
set key bottom right
set arrow 100 from graph 0, first 0.995 to graph 1, first 0.995 nohead dt 2 lw 1.5 lc rgb '#333333' front
set label 100 'target 99.50%: [budget] target_accuracy' at graph 0.02, first 0.995 offset 0, 0.7 left font ',9' tc rgb '#333333' front
set yrange [0.971715437:1]
plot \
  dat using 1:($3-$4):($3+$4) with filledcurves lt 1 notitle, \
  dat using 1:($5-$6):($5+$6) with filledcurves lt 2 notitle, \
  dat using 1:3 with linespoints lt 1 title 'train', \
  dat using 1:5 with linespoints lt 2 title 'test'
