# src/cli: the relab command (not part of the library; the only place that exits)
relab_SOURCES += src/cli/main.c src/cli/commands.h \
	src/cli/cmd_train.c src/cli/cmd_predict.c src/cli/cmd_eval.c src/cli/cmd_compare.c \
	src/cli/cmd_clean.c src/cli/cmd_noise.c src/cli/cmd_pack.c src/cli/cmd_ablate.c \
	src/cli/cmd_info.c src/cli/cmd_export_images.c src/cli/cmd_list.c src/cli/cmd_split.c \
	src/cli/cmd_report.c
