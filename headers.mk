# headers.mk: which library headers are installed.  The one place to edit when
# a header is added, moved or removed under src/: every src/*/*.h is listed
# here exactly once, either as public (installed) or as private (never
# installed); tests/test_install.sh fails otherwise.
#
# A public header is installed as $(includedir)/relab/MODULE/NAME.h (src/nn/conv.h
# -> <relab/nn/conv.h>), with its own includes rewritten to that form, and is
# included by the umbrella <relab/relab.h>.  It may include only public headers
# and system headers, and must compile on its own.

relab_public_headers = \
	src/ablate/curve.h \
	src/ablate/facts.h \
	src/ablate/grid.h \
	src/ablate/outputs.h \
	src/ablate/results.h \
	src/ablate/runs.h \
	src/ablate/sched.h \
	src/ablate/scores.h \
	src/ablate/svg.h \
	src/ablate/table.h \
	src/clean/clean.h \
	src/clean/noise.h \
	src/data/augment.h \
	src/data/idx.h \
	src/data/imagenet.h \
	src/data/jpeg.h \
	src/data/list.h \
	src/data/loader.h \
	src/data/pack.h \
	src/data/png.h \
	src/data/source.h \
	src/data/split.h \
	src/eval/idmap.h \
	src/eval/metrics.h \
	src/eval/perclass.h \
	src/eval/predict.h \
	src/eval/preds.h \
	src/eval/refsets.h \
	src/eval/report.h \
	src/eval/sets.h \
	src/eval/subset.h \
	src/nn/bn.h \
	src/nn/conv.h \
	src/nn/fc.h \
	src/nn/params.h \
	src/nn/pool.h \
	src/nn/profile.h \
	src/nn/resnet.h \
	src/nn/tensor.h \
	src/nn/weights.h \
	src/report/page.h \
	src/train/checkpoint.h \
	src/train/datasets.h \
	src/train/dist.h \
	src/train/loss.h \
	src/train/observers.h \
	src/train/plan.h \
	src/train/recipe.h \
	src/train/run.h \
	src/train/schedule.h \
	src/train/sgd.h \
	src/train/trainer.h \
	src/util/blas.h \
	src/util/fs.h \
	src/util/kv.h \
	src/util/log.h \
	src/util/mem.h \
	src/util/rng.h \
	src/util/status.h \
	src/util/text.h

# Private: used inside the library or by the relab command only.
#   cli/commands.h  the subcommands of the relab program (not in the library)
#   util/h5.h       checked HDF5 wrappers shared by relab's own file formats
#   util/h5image.h  HDF5 files built in memory and committed atomically (weights, checkpoints)
#   util/timer.h    a monotonic clock for progress lines
#   nn/winograd.h   the Winograd kernels behind nn/conv.h's RL_CONV_WINOGRAD
#   train/recipe_keys.h  the recipe's key table behind train/recipe.h
#   data/scan.h     the image-folder scanner and file-list cache behind data/imagenet.h
#   report/*.h      the parts of report/page.h's page (sections, cleaning data, thumbnails, HTML text)
relab_private_headers = \
	src/cli/commands.h \
	src/data/scan.h \
	src/nn/winograd.h \
	src/report/cleaning.h \
	src/report/html.h \
	src/report/sections.h \
	src/report/thumbs.h \
	src/train/recipe_keys.h \
	src/util/h5.h \
	src/util/h5image.h \
	src/util/timer.h
