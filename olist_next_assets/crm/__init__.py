"""The retention CRM: a Streamlit app over the Delta tables where a specialist reviews, edits,
approves or rejects the weekly e-mails. ``data.py`` is the logic (tested without a browser),
``app.py`` the screens."""
