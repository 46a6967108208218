"""Accuracy bars the chapters assert, on the lesson subset's 500 test rows.

Each is set a few points below the measured accuracy of its model: 500 test images give an
accuracy a standard error of about 2 points, so a bar at the measured value would fail on an
equally good model half the time.
"""

FULLY_CONNECTED_TEST_ACCURACY = 0.40  # notebook 02
NORMALIZED_FULLY_CONNECTED_TEST_ACCURACY = 0.38  # batch norm + dropout, notebook 04
THREE_LAYER_CONVNET_TEST_ACCURACY = 0.45  # notebook 05
TORCH_CONVNET_TEST_ACCURACY = 0.48  # notebook 06
FAST_CNN_TEST_ACCURACY = 0.65  # notebook 07
