"""MaPLe against its repository (trainers/maple.py): the base-to-new config, 2 tokens coupled in 9 blocks."""
from ._adapter import Adapter


class MaPLeAdapter(Adapter):
    def our_learner(self):
        from trainers.maple import MultiModalPromptLearner

        return MultiModalPromptLearner


ADAPTER = MaPLeAdapter(method="MaPLe", authors_module="maple",
                       authors_repo="github.com/muzairkhattak/multimodal-prompt-learning",
                       config="configs/trainers/MaPLe/vit_b16_c2_ep5_batch4_2ctx.yaml",
                       learner_class="MultiModalPromptLearner", fp16_in_authors_init=("proj.weight", "proj.bias"))
