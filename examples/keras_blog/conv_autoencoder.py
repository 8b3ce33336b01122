# The Keras blog's convolutional autoencoder, down to a 4x4x8 code.
import numpy as np

from nn_core.keras.datasets import mnist
from nn_core.keras.layers import Conv2D, Input, MaxPooling2D, UpSampling2D
from nn_core.keras.models import Model

input_img = Input(shape=(28, 28, 1))  # adapt this if using `channels_first` image data format

x = Conv2D(16, (3, 3), activation="relu", padding="same")(input_img)
x = MaxPooling2D((2, 2), padding="same")(x)
x = Conv2D(8, (3, 3), activation="relu", padding="same")(x)
x = MaxPooling2D((2, 2), padding="same")(x)
x = Conv2D(8, (3, 3), activation="relu", padding="same")(x)
encoded = MaxPooling2D((2, 2), padding="same")(x)

# at this point the representation is (4, 4, 8) i.e. 128-dimensional

x = Conv2D(8, (3, 3), activation="relu", padding="same")(encoded)
x = UpSampling2D((2, 2))(x)
x = Conv2D(8, (3, 3), activation="relu", padding="same")(x)
x = UpSampling2D((2, 2))(x)
x = Conv2D(16, (3, 3), activation="relu")(x)
x = UpSampling2D((2, 2))(x)
decoded = Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)

autoencoder = Model(input_img, decoded)
autoencoder.compile(optimizer="adadelta", loss="binary_crossentropy")

(x_train, _), (x_test, _) = mnist.load_data()
x_train = x_train.astype("float32") / 255.0
x_test = x_test.astype("float32") / 255.0
x_train = np.reshape(x_train, (len(x_train), 28, 28, 1))  # adapt this if using `channels_first`
x_test = np.reshape(x_test, (len(x_test), 28, 28, 1))  # adapt this if using `channels_first`

# The blog also passes callbacks=[TensorBoard(log_dir="/tmp/autoencoder")]: nn_core writes
# no TensorBoard files (nn_core.keras.callbacks.TensorBoard says so), so it is left out.
autoencoder.fit(
    x_train, x_train, epochs=50, batch_size=128, shuffle=True, validation_data=(x_test, x_test)
)
