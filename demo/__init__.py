"""A chat demo of a trained model in the browser (Gradio): `python -m demo.app --model_name_or_path MODEL`."""
