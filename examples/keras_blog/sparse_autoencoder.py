# The Keras blog's sparse autoencoder: an L1 activity penalty on the code.
import numpy as np

from nn_core.keras import regularizers
from nn_core.keras.datasets import mnist
from nn_core.keras.layers import Dense, Input
from nn_core.keras.models import Model

encoding_dim = 32

input_img = Input(shape=(784,))
# add a Dense layer with a L1 activity regularizer
encoded = Dense(encoding_dim, activation="relu", activity_regularizer=regularizers.l1(10e-5))(
    input_img
)
decoded = Dense(784, activation="sigmoid")(encoded)

autoencoder = Model(input_img, decoded)
encoder = Model(input_img, encoded)
autoencoder.compile(optimizer="adadelta", loss="binary_crossentropy")

(x_train, _), (x_test, _) = mnist.load_data()
x_train = x_train.astype("float32") / 255.0
x_test = x_test.astype("float32") / 255.0
x_train = x_train.reshape((len(x_train), np.prod(x_train.shape[1:])))
x_test = x_test.reshape((len(x_test), np.prod(x_test.shape[1:])))

autoencoder.fit(
    x_train, x_train, epochs=100, batch_size=256, shuffle=True, validation_data=(x_test, x_test)
)
encoded_imgs = encoder.predict(x_test)
print("mean code activation:", encoded_imgs.mean())
