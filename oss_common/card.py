"""Text that the dataset card, the model card and the evaluation results share."""

# The paper, cited at the end of every card.
CITATION = """@inproceedings{wei2024magicoder,
  title = {Magicoder: Empowering Code Generation with {OSS-Instruct}},
  author = {Wei, Yuxiang and Wang, Zhe and Liu, Jiawei and Ding, Yifeng and Zhang, Lingming},
  booktitle = {Proceedings of the 41st International Conference on Machine Learning},
  series = {Proceedings of Machine Learning Research},
  volume = {235},
  year = {2024},
  eprint = {2312.02120},
  archivePrefix = {arXiv}
}"""

# The first line of a dataset card made with the quickstart's local toy teacher, and of a model card trained on it.
TOY_TEACHER_NOTICE = (
    "> **Toy data.** Made offline by the quickstart's local toy teacher (SmolLM2-135M-Instruct), which cannot follow "
    "the OSS-Instruct prompt: it tests the pipeline and is not a dataset to train a real model on."
)
TOY_MODEL_NOTICE = (
    "> **Toy model.** Trained on data made offline by the quickstart's local toy teacher (SmolLM2-135M-Instruct), "
    "which cannot follow the OSS-Instruct prompt: it tests the pipeline and is not a useful code model."
)

# The limitation bullet of a model card without scores; `eval/model_card.py` replaces it once there are some.
NO_RESULTS_BULLET = "- Evaluation results are not part of this card yet"
