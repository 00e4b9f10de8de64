# Generates, from the built bench's own --help texts, so that they cannot disagree with it:
#   MAN         the man page bench.1: `bench --help`, then every command's `--help`
#   COMPLETION  the bash completion: the commands of `bench --help`, each command's options
#               (every --long option its --help names) and the values of --format and
#               --status (the words its --help lists for them)
# Run by harness/CMakeLists.txt after each build of bench:
#   cmake -DBENCH=path/to/bench -DVERSION=0.1.0 -DMAN=bench.1 -DCOMPLETION=bench.bash -P docs.cmake

execute_process(COMMAND ${BENCH} --help OUTPUT_VARIABLE main_help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "bench --help failed (${rc})")
endif()

# The commands: the lines "  NAME   one-line help" after "commands:".
string(REGEX REPLACE ".*\ncommands:\n" "" table "${main_help}")
string(REGEX REPLACE "\n\n.*" "" table "${table}")
string(REPLACE "\n" ";" table_lines "${table}")
set(commands "")
foreach(line IN LISTS table_lines)
  if(line MATCHES "^  ([a-z]+) ")
    list(APPEND commands "${CMAKE_MATCH_1}")
  endif()
endforeach()

# roff: backslashes escaped, a line starting with '.' or ' protected, no filling.
function(roff out text)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

list(JOIN commands " " command_words)
roff(main_roff "${main_help}")
set(man ".TH BENCH 1 \"\" \"bench ${VERSION}\" \"User Commands\"\n")
string(APPEND man ".SH NAME\nbench \\- reproduce and benchmark small CNNs on MNIST, with every "
                  "result in SQLite\n.SH SYNOPSIS\n.nf\n${main_roff}.fi\n.SH COMMANDS\n")
set(completion "# bash completion for bench, generated from its --help texts (harness/docs.cmake)\n")
string(APPEND completion "_bench()\n{\n  local cur=\${COMP_WORDS[COMP_CWORD]}"
                         " prev=\${COMP_WORDS[COMP_CWORD-1]}\n"
                         "  if [ \"\$COMP_CWORD\" -eq 1 ]; then\n"
                         "    COMPREPLY=($(compgen -W \"${command_words} --help --version\" -- \"\$cur\"))\n"
                         "    return\n  fi\n  local opts values_format\n  case \${COMP_WORDS[1]} in\n")
foreach(cmd IN LISTS commands)
  execute_process(COMMAND ${BENCH} ${cmd} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "bench ${cmd} --help failed (${rc})")
  endif()
  roff(help_roff "${help}")
  string(APPEND man ".SS bench ${cmd}\n.nf\n${help_roff}.fi\n")
  # the options: the --long name of every option line ("  -e, --experiment N  ..."), in order
  string(REGEX MATCHALL "\n  (-[a-zA-Z], )?--[a-z][a-z0-9-]*" lines "${help}")
  set(opts "")
  foreach(l IN LISTS lines)
    string(REGEX REPLACE ".*(--[a-z][a-z0-9-]*)$" "\\1" l "${l}")
    list(APPEND opts "${l}")
  endforeach()
  list(REMOVE_DUPLICATES opts)
  list(JOIN opts " " opts)
  # the values of --format: the format words on its line of the help
  set(formats "")
  if(help MATCHES "\n  (-[a-z], )?--format[^\n]*")
    string(REGEX MATCHALL "(table|md|csv|json|png|svg|pdf|html)" formats "${CMAKE_MATCH_0}")
    list(REMOVE_DUPLICATES formats)
  endif()
  list(JOIN formats " " formats)
  string(APPEND completion "  ${cmd}) opts=\"${opts}\"; values_format=\"${formats}\" ;;\n")
endforeach()
string(APPEND completion
  "  *) return ;;\n  esac\n"
  "  case \$prev in\n"
  "    --format) COMPREPLY=($(compgen -W \"\$values_format\" -- \"\$cur\")); return ;;\n"
  "    --status) COMPREPLY=($(compgen -W \"QUEUED RUNNING COMPLETED FAILED DIVERGED INTERRUPTED\""
  " -- \"\$cur\")); return ;;\n"
  "    --db|--into|--out|--data-dir|--save|-d) COMPREPLY=($(compgen -f -- \"\$cur\")); return ;;\n"
  "  esac\n"
  "  if [[ \$cur == -* ]]; then\n"
  "    COMPREPLY=($(compgen -W \"\$opts\" -- \"\$cur\"))\n"
  "  else\n"
  "    COMPREPLY=($(compgen -f -- \"\$cur\"))\n"
  "  fi\n}\ncomplete -F _bench bench\n")
string(APPEND man ".SH EXIT STATUS\n0 success, 1 failure, 2 usage error, 3 bench run stopped with "
                  "runs unfinished (running it again resumes them).\n"
                  ".SH SEE ALSO\nREADME.md and experiments/README.md of the bench sources.\n")
file(WRITE ${MAN} "${man}")
file(WRITE ${COMPLETION} "${completion}")
