"""Accuracy bars the chapters assert, on the lesson subset's 500 test rows (set from measured runs)."""
FULLY_CONNECTED_TEST_ACCURACY = 0.40
THREE_LAYER_CONVNET_TEST_ACCURACY = 0.45
NORMALIZED_FULLY_CONNECTED_TEST_ACCURACY = 0.41  # batch norm + dropout, chapter 2
FAST_CNN_TEST_ACCURACY = 0.65
TORCH_CONVNET_TEST_ACCURACY = 0.50
