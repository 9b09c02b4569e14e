# ctest script: a scaled-down fcn run (TinyFCN with skips, 1000 steps of 8 images at Adam 1e-2 with
# cosine decay, a tenth of the default run) must learn: the logged (smoothed) loss falls, held-out pixel
# accuracy beats predicting background everywhere (the held-out set is 88.24% background;
# tests/test_fcn_example.cpp holds that number) and the mean IoU reaches MIN_MIOU. Shorter runs still
# predict background almost everywhere; docs/fcn.md ("Tests") gives the values this run reaches.
# Arguments: -DFCN=<fcn executable> -DDIR=<scratch folder>.
set(MIN_MIOU 0.3)
set(BACKGROUND_RATE 0.8824)  # as fcn prints it (4 decimals): all-background scores exactly this
file(REMOVE_RECURSE ${DIR})
execute_process(COMMAND ${FCN} --steps 1000 --lr 1e-2 --batch 8 --train-images 1024 --threads 1 --log-every 100
          --out ${DIR}
  OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fcn failed (${rc}):\n${out}")
endif()
# Progress lines: "step 100/1000  loss 0.4321  acc ...". CMake's LESS and GREATER compare as floating point.
string(REGEX MATCHALL "step [0-9]+/[0-9]+  loss [0-9]+\\.[0-9]+" steps "${out}")
list(LENGTH steps n)
if(n LESS 2)
  message(FATAL_ERROR "fewer than two progress lines in:\n${out}")
endif()
list(GET steps 0 first)
list(GET steps -1 last)
string(REGEX REPLACE ".*loss " "" first_loss "${first}")
string(REGEX REPLACE ".*loss " "" last_loss "${last}")
if(NOT last_loss LESS first_loss)
  message(FATAL_ERROR "the loss did not fall: ${first_loss} -> ${last_loss}\n${out}")
endif()
if(NOT out MATCHES "held-out \\([0-9]+ images\\): pixel accuracy ([0-9.]+), mean IoU ([0-9.]+)")
  message(FATAL_ERROR "no held-out line in:\n${out}")
endif()
set(acc ${CMAKE_MATCH_1})
set(miou ${CMAKE_MATCH_2})
if(NOT acc GREATER BACKGROUND_RATE)
  message(FATAL_ERROR "pixel accuracy ${acc} does not beat the all-background rate ${BACKGROUND_RATE}\n${out}")
endif()
if(NOT miou GREATER MIN_MIOU)
  message(FATAL_ERROR "mean IoU ${miou} is below ${MIN_MIOU}\n${out}")
endif()
message(STATUS "fcn trains: loss ${first_loss} -> ${last_loss}, pixel accuracy ${acc}, mean IoU ${miou}")
