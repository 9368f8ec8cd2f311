"""PromptSRC against its repository (trainers/promptsrc.py): the base-to-new config, 4+4 tokens in 9 blocks, its
four loss terms, and GPA over 3 one-step epochs (GPA N(2, 1) so that every epoch weighs; the published N(15, 1)
over 20 epochs puts all the weight on epochs 13-17)."""
from ._adapter import Adapter, vl_prompt_name


class PromptSRCAdapter(Adapter):
    def our_name(self, name: str) -> str:
        return vl_prompt_name(name)


ADAPTER = PromptSRCAdapter(
    method="PromptSRC", authors_module="promptsrc", authors_repo="github.com/muzairkhattak/PromptSRC",
    config="configs/trainers/PromptSRC/vit_b16_c2_ep20_batch4_4+4ctx.yaml",
    loss_terms={"cross_entropy#1": "cross_entropy", "l1_loss#1": "text L1 (before TEXT_LOSS_WEIGHT)",
                "l1_loss#2": "image L1 (before IMAGE_LOSS_WEIGHT)", "kl_div#1": "logits KL (sum, before / numel)"},
    opts=("OPTIM.MAX_EPOCH", "3", "TRAINER.PROMPTSRC.GPA_MEAN", "2.0", "TRAINER.PROMPTSRC.GPA_STD", "1.0"),
    gpa_epochs=3)
