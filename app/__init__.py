"""The Streamlit app: the only package (with ``pages/``) that imports Streamlit."""
